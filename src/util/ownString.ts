/**
 * The same text as a string of its own. V8 keeps a cut of 13 characters or more from a longer
 * string as a view onto that string, and a concatenation as a tree of its pieces; either, kept
 * for long (a binding for an hour, a transaction's peer address for the 32 s it lingers), keeps
 * the whole message text it was cut from alive. Text decoded from the wire (UTF-8) survives the
 * round trip through bytes unchanged.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

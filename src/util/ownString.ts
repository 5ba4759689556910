/**
 * Strings of their own. V8 keeps a cut of 13 characters or more from a longer string as a view
 * onto that string, and a concatenation as a tree of its pieces; either, kept for long (a binding
 * for an hour, a transaction's key or peer address for the 32 s it lingers), keeps the whole
 * message text it was cut from alive.
 */

/**
 * The same text as a string of its own, whatever it was made from. Text decoded from the wire
 * (UTF-8) survives the round trip through bytes unchanged.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * A concatenation as one flat string: reading a character makes V8 flatten the tree into one fresh
 * string, which lets the texts of its pieces go. Cheaper than ownString, and enough for a string
 * built by concatenation (a transaction key, a packed response), not for a bare cut.
 */
export function flattened(s: string): string {
  s.charCodeAt(0);
  return s;
}

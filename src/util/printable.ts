/**
 * Text a peer chose, made fit for a one-line log. A CR or LF in it could forge a line of its own,
 * an ESC or a C1 control rewrite the operator's terminal, a bidi override hide what follows: each
 * is written as an escape (and a backslash as `\\`, so an escape in the text itself is told
 * apart). Past `max` characters (escapes counted as written) the rest is cut, and the line says
 * how long the text was, so a 5 KB host name costs one short line.
 */
export function printable(text: string, max: number): string {
  if (text.length <= max && !UNPRINTABLE.test(text)) return text;
  let out = '';
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const piece = isUnprintable(c) ? escape(c) : text[i]!;
    if (out.length + piece.length > max) break;
    out += piece;
  }
  if (i === text.length) return out;
  // A surrogate pair cut in half would be written as U+FFFD.
  const last = out.charCodeAt(out.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return `${out}… (${text.length} chars)`;
}

// C0 controls, DEL and C1, the backslash, U+2028-U+202E (line and paragraph separators, bidi
// embeddings) and U+2066-U+2069 (bidi isolates).
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\\\u2028-\u202e\u2066-\u2069]/;

function isUnprintable(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x5c || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

const NAMED: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x5c: '\\\\' };

function escape(c: number): string {
  return NAMED[c] ?? (c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`);
}

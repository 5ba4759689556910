/**
 * A short, printable excerpt of text a peer sent, for a log line and for the reason phrase of the
 * 400 that says what was wrong with it (§21.4.1). A Reason-Phrase (§25.1) may carry neither
 * control characters nor CR/LF, but it may carry `escaped` (%HH): every character outside
 * printable ASCII, and `%` itself, is written as the %HH of its UTF-8 bytes. Only the part shown
 * is read, so a 64 KiB line costs what its first few characters do.
 */
export function excerpt(text: string, from = 0, to = text.length, max = EXCERPT_LENGTH): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    let piece: string;
    if (c >= 0x20 && c < 0x7f && c !== PERCENT) piece = text[i]!;
    else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      piece = percentEscaped(String.fromCodePoint(cp));
    }
    if (out.length + piece.length > max) return `${out}...`;
    out += piece;
  }
  return out;
}

/** Room for a header name and the start of its value, short enough for one status line. */
export const EXCERPT_LENGTH = 60;

const PERCENT = 0x25;

function percentEscaped(char: string): string {
  let out = '';
  for (const b of Buffer.from(char, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
  return out;
}

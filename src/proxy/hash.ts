/** Where an FNV-1a hash starts. */
export const FNV1A_OFFSET = 0x811c9dc5;

/** FNV-1a over a string, as 8 hex digits: cheap and stable, for branch loop-detection parts. */
export function fnv1a(text: string): string {
  return fnv1aHex(fnv1aFold(FNV1A_OFFSET, text));
}

/** A running FNV-1a hash `h` (FNV1A_OFFSET to start) with `text` folded in. */
export function fnv1aFold(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/**
 * A line of a list header folded in: a comma, then the value without its spaces and tabs. A list
 * on one line or on several, with any whitespace around its commas, is one list (§7.3.1) and
 * hashes alike.
 */
export function fnv1aFoldListLine(h: number, value: string): number {
  h = Math.imul(h ^ 0x2c, 0x01000193);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09) continue;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

export function fnv1aHex(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** FNV-1a over bytes [start, end), as an unsigned 32-bit number (src/cluster: a Call-ID's owner). */
export function fnv1aBytes(data: Uint8Array, start = 0, end = data.length): number {
  let h = FNV1A_OFFSET;
  for (let i = start; i < end; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

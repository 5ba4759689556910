/** FNV-1a over a string, as 8 hex digits: cheap and stable, for branch loop-detection parts. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** FNV-1a over bytes [start, end), as an unsigned 32-bit number (src/cluster: a Call-ID's owner). */
export function fnv1aBytes(data: Uint8Array, start = 0, end = data.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Splits a list header value at its separating commas (RFC 3261 §7.3.1). Commas inside a
 * quoted-string (with backslash escapes, §25.1) or inside `<...>` are part of the value.
 * Empty elements are dropped; surrounding whitespace is trimmed.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(',') < 0) {
    const t = value.trim();
    return t ? [t] : [];
  }
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c /* < */) inAngle = true;
    else if (c === 0x3e /* > */) inAngle = false;
    else if (c === 0x2c /* , */ && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) out.push(last);
  return out;
}

/** Index of the first `ch` outside a quoted-string and outside `<...>`, or -1. */
export function indexOutside(value: string, ch: string, from = 0): number {
  const target = ch.charCodeAt(0);
  let inQuote = false;
  let inAngle = false;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
      continue;
    }
    if (c === target && !inAngle) return i;
    if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
  }
  return -1;
}

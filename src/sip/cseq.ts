import { sharedWord } from './sharedWords.js';

/** A CSeq value (RFC 3261 §20.16): sequence number and method. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

export function parseCSeq(value: string | undefined): CSeq | null {
  if (value === undefined) return null;
  const m = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(value.trim());
  if (!m) return null;
  const seq = Number(m[1]);
  // §8.1.1.5: the sequence number is a 32-bit unsigned integer.
  if (seq > 0xffffffff) return null;
  return { seq, method: sharedWord(m[2]!) };
}

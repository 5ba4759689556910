import { ownString } from './ownString.js';

/**
 * A table of shared strings: each text kept once, as a string of its own (never a cut of the
 * message it was read from, which the table would keep alive). Bounded by count and by length: a
 * flood of new texts only empties the table, and a text longer than `maxLength` gets a copy of
 * its own and no place in it.
 */
export class SharedStrings {
  private readonly table = new Map<string, string>();

  constructor(
    private readonly maxCount: number,
    private readonly maxLength: number,
  ) {}

  get(text: string): string {
    const known = this.table.get(text);
    if (known !== undefined) return known;
    const own = ownString(text);
    if (own.length > this.maxLength) return own;
    if (this.table.size >= this.maxCount) this.table.clear();
    this.table.set(own, own);
    return own;
  }

  /** How many strings the table holds, and their characters (for tests). */
  held(): { count: number; chars: number } {
    let chars = 0;
    for (const s of this.table.keys()) chars += s.length;
    return { count: this.table.size, chars };
  }
}

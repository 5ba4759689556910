import { SharedStrings } from '../util/sharedStrings.js';

/**
 * One shared copy of each method name and reason phrase the proxy reads (RFC 3261 §7.1, §7.2,
 * §20.16): a request's method, a CSeq's method, a response's reason phrase. They are a handful of
 * words ("INVITE", "BYE", "OK"...), but read from each message they were a copy per message, and a
 * client transaction keeps its method, a server transaction its last response, for the 32 s they
 * linger (64*T1): copies for V8's mark-compact to visit (BENCHMARKS.md, finding 40).
 *
 * At most 512 words (a scanner's inventions only empty the table); a word longer than 64
 * characters, longer than any real one, is not shared.
 */
const words = new SharedStrings(512, 64);

export function sharedWord(word: string): string {
  return words.get(word);
}

/** How many words the table holds (for tests). */
export function sharedWordCount(): number {
  return words.held().count;
}

import { ownString } from '../util/ownString.js';

/**
 * One shared copy of each method name and reason phrase the proxy reads (RFC 3261 §7.1, §7.2,
 * §20.16): a request's method, a CSeq's method, a response's reason phrase. They are a handful of
 * words ("INVITE", "BYE", "OK"...), but read from each message they were a copy per message, and a
 * client transaction keeps its method, a server transaction its last response, for the 32 s they
 * linger (64*T1): copies for V8's mark-compact to visit (BENCHMARKS.md, finding 40).
 *
 * Bounded like the header names (headerNames.ts): past the first few hundred words, or a word
 * longer than any real one, the text is returned as it is and not remembered.
 */
const MAX_WORDS = 512;
const MAX_WORD_LENGTH = 64;
const words = new Map<string, string>();

export function sharedWord(word: string): string {
  const known = words.get(word);
  if (known !== undefined) return known;
  if (word.length > MAX_WORD_LENGTH || words.size >= MAX_WORDS) return word;
  // A string of its own: the word may be a cut from a whole message, which the table must not hold.
  const own = ownString(word);
  words.set(own, own);
  return own;
}

/** How many words the table holds (for tests). */
export function sharedWordCount(): number {
  return words.size;
}

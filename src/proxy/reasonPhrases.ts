import { readFileSync } from 'node:fs';
import type { SipResponse } from '../sip/message.js';

/** Reason phrases by status code. Only the phrase ever changes: never a code, never a header. */
export type PhraseTable = ReadonlyMap<number, string>;

/** The original report's Slovak phrases (section 3.3.2). */
const PRESETS: Record<string, Record<string, string>> = {
  sk: { 100: 'Skusam', 180: 'Zvonim', 486: 'Nechaj ma na pokoji', 400: 'Zlá požiadavka' },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/**
 * `--reason-phrases PRESET|FILE`: a preset name, or a JSON file `{ "180": "Zvonim", ... }`.
 * Throws a one-line Error for a file that is not such an object.
 */
export function loadPhraseTable(spec: string): PhraseTable {
  const raw: unknown = PRESETS[spec] ?? JSON.parse(readFileText(spec));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${spec}: expected a JSON object of "code": "phrase"`);
  const table = new Map<number, string>();
  for (const [code, phrase] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^[1-6]\d\d$/.test(code)) throw new Error(`${spec}: "${code}" is not a status code (100-699)`);
    // RFC 3261 §25.1: Reason-Phrase is UTF-8 text without CR or LF.
    if (typeof phrase !== 'string' || /[\r\n]/.test(phrase)) throw new Error(`${spec}: the phrase for ${code} must be one line of text`);
    table.set(Number(code), phrase);
  }
  return table;
}

function readFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--reason-phrases: "${file}" is neither a preset (${PRESET_NAMES.join(', ')}) nor a readable file (${(e as NodeJS.ErrnoException).code})`);
  }
}

/**
 * A rewriter for every response the proxy sends, forwarded or its own. A response for a server
 * transaction is rewritten once, before the transaction keeps it (src/actors/supervisor.ts,
 * respond); the rewritten message is kept per original for what is sent again otherwise (the
 * INVITE server transaction's own 100 Trying, resent for each retransmitted INVITE).
 */
export function phraseRewriter(table: PhraseTable): (r: SipResponse) => SipResponse {
  const done = new WeakMap<SipResponse, SipResponse>();
  return (r) => {
    const phrase = table.get(r.status);
    if (phrase === undefined || phrase === r.reason) return r;
    let out = done.get(r);
    if (!out) {
      out = { ...r, reason: phrase };
      done.set(r, out);
    }
    return out;
  };
}

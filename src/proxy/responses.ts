import { getHeaderValues, withoutFirstValue, type SipResponse } from '../sip/message.js';
import { rfcReasonPhrase } from '../sip/reasonPhrases.js';

/** The response as it goes upstream: our own Via removed (§16.7 step 3). */
export function stripOwnVia(response: SipResponse): SipResponse {
  return { ...response, headers: withoutFirstValue(response.headers, 'via') };
}

const PREFERRED_4XX = [401, 407, 415, 420, 484];

/**
 * Choosing the best final response of a response context (§16.7 step 6): any 6xx; otherwise the
 * lowest class, preferring 401, 407, 415, 420 and 484 among 4xx, and a phone's answer over a
 * branch timeout. A 503 is passed up as a 500, and
 * for 401/407 every challenge collected is merged into the one sent (§16.7 step 7).
 */
export function chooseBestResponse(finals: readonly SipResponse[]): SipResponse | null {
  if (finals.length === 0) return null;
  let best = finals.find((r) => r.status >= 600);
  if (!best) {
    const lowestClass = Math.min(...finals.map((r) => Math.floor(r.status / 100)));
    const inClass = finals.filter((r) => Math.floor(r.status / 100) === lowestClass);
    // Within the class: the preferred 4xx, then what a phone said rather than a branch's timeout (408).
    best = (lowestClass === 4 && inClass.find((r) => PREFERRED_4XX.includes(r.status))) || inClass.find((r) => r.status !== 408) || inClass[0]!;
  }
  if (best.status === 503) return { ...best, status: 500, reason: rfcReasonPhrase(500) };
  if (best.status === 401 || best.status === 407) return mergeChallenges(best, finals);
  return best;
}

function mergeChallenges(best: SipResponse, finals: readonly SipResponse[]): SipResponse {
  const extra = finals.filter((r) => r !== best && (r.status === 401 || r.status === 407));
  if (extra.length === 0) return best;
  const headers = [...best.headers];
  for (const r of extra) {
    for (const h of r.headers) if (h.key === 'www-authenticate' || h.key === 'proxy-authenticate') headers.push(h);
  }
  return { ...best, headers };
}

/** Whether the response's top Via is the one this proxy added (so it travels back upstream). */
export function hasUpstreamVia(response: SipResponse): boolean {
  return getHeaderValues(response, 'via').length >= 2;
}

import type { SipRequest, SipResponse } from '../sip/message.js';
import { buildResponse } from '../sip/build.js';
import { badExtension, UAS_OPTION_TAGS } from './require.js';

/** The methods this proxy handles or forwards (§20.5). */
export const ALLOWED_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, MESSAGE, INFO, UPDATE, PRACK, PUBLISH';

/**
 * The answer to an OPTIONS the proxy answers itself (addressed to it, or out of hops, §16.3 step
 * 3): 200 OK with what it allows, accepts and supports (§11.2), or, as any UAS, 420 when its
 * Require names an extension not supported here (§8.2.2.3).
 */
export function optionsResponse(req: SipRequest, toTag: string): SipResponse {
  const bad = badExtension(req, 'require', UAS_OPTION_TAGS);
  if (bad) return buildResponse(req, bad.status, { toTag, headers: bad.headers });
  return buildResponse(req, 200, {
    toTag,
    headers: [
      ['Allow', ALLOWED_METHODS],
      ['Accept', 'application/sdp'],
      // No option tags of our own: the proxy relays every extension end to end.
      ['Supported', ''],
    ],
  });
}

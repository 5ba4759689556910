import type { SipRequest, SipResponse } from '../sip/message.js';
import { buildResponse } from '../sip/build.js';

/** The methods this proxy handles or forwards (§20.5). */
export const ALLOWED_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, MESSAGE, INFO, UPDATE, PRACK, PUBLISH';

/** 200 OK to an OPTIONS addressed to the proxy itself (§11.2): what it allows, accepts and supports. */
export function optionsResponse(req: SipRequest, toTag: string): SipResponse {
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

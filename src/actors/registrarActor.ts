import { buildResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { bindingContact, planRegistration, type RegistrarPolicy } from '../proxy/registrar.js';
import type { LocalIdentity } from '../proxy/localIdentity.js';
import type { Address } from '../transport/viaAddressing.js';
import type { LocationService } from './locationService.js';

/**
 * The registrar (RFC 3261 §10.3): checks a REGISTER, applies it to the location service and
 * answers with every current binding of the AOR and its remaining expiry (step 8).
 */
export function handleRegister(
  req: SipRequest,
  info: MessageInfo,
  location: LocationService,
  policy: RegistrarPolicy,
  me: LocalIdentity,
  toTag: string,
  source: Address,
): SipResponse {
  const plan = planRegistration(req, policy, (u) => me.isLocalDomain(u), (host, port) => me.isOwnAddress(host, port));
  if (!plan.ok) {
    return buildResponse(req, plan.status, { toTag, ...(plan.reason ? { reason: plan.reason } : {}), ...(plan.headers ? { headers: plan.headers } : {}) });
  }
  const result = location.apply(plan, { callId: info.callId, cseq: info.cseq.seq, source: `${source.host}:${source.port}` });
  if (!result.ok) return buildResponse(req, result.status, { toTag, reason: result.reason });
  const now = Date.now();
  const headers: Array<[string, string]> = result.bindings.map((b) => ['Contact', bindingContact(b, now)]);
  headers.push(['Date', new Date(now).toUTCString()]);
  return buildResponse(req, 200, { toTag, headers });
}

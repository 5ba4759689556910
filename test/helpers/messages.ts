import { parseDatagram } from '../../src/sip/parser.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';

/** Parses a message written with \n line ends (tests only; throws on a bad fixture). */
export function msg(text: string): SipRequest | SipResponse {
  const r = parseDatagram(Buffer.from(text.replace(/\r?\n/g, '\r\n')));
  if (!r.ok) throw new Error(`bad fixture: ${r.error}`);
  return r.message;
}

export function invite(branch = 'z9hG4bKtest1', extra = ''): SipRequest {
  return msg(`INVITE sip:bob@10.0.0.2:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=${branch}
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKcaller;received=10.0.0.1;rport=5060
Max-Forwards: 69
From: <sip:alice@proxy>;tag=a1
To: <sip:bob@proxy>
Call-ID: call-1
CSeq: 1 INVITE
${extra}Content-Length: 0

`) as SipRequest;
}

export function request(method: string, branch = 'z9hG4bKtest2'): SipRequest {
  return msg(`${method} sip:bob@10.0.0.2:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=${branch}
Max-Forwards: 70
From: <sip:alice@proxy>;tag=a1
To: <sip:bob@proxy>;tag=b1
Call-ID: call-1
CSeq: 2 ${method}
Content-Length: 0

`) as SipRequest;
}

export function response(status: number, reason: string, method = 'INVITE', branch = 'z9hG4bKtest1', toTag = 'b1'): SipResponse {
  return msg(`SIP/2.0 ${status} ${reason}
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=${branch}
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKcaller;received=10.0.0.1;rport=5060
From: <sip:alice@proxy>;tag=a1
To: <sip:bob@proxy>;tag=${toTag}
Call-ID: call-1
CSeq: 1 ${method}
Content-Length: 0

`) as SipResponse;
}

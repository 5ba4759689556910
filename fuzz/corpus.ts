/**
 * Valid SIP messages to mutate: every method the proxy routes and the responses it relays, all
 * addressed to loopback. `n` varies Call-IDs, tags and branches so messages do not all collide.
 */
export function corpus(n: number, proxyPort = 5060): string[] {
  const via = `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-f${n};rport`;
  const common = (method: string, cseq = 1, toTag = '') => [
    via,
    'Max-Forwards: 70',
    `From: "Fuzz ${n}" <sip:alice@127.0.0.1>;tag=fa${n}`,
    `To: <sip:bob@127.0.0.1>${toTag}`,
    `Call-ID: fuzz-${n}@127.0.0.1`,
    `CSeq: ${cseq} ${method}`,
    'Contact: <sip:alice@127.0.0.1:5999>',
  ];
  const sdp = ['v=0', 'o=alice 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0 8 101', 'a=rtpmap:0 PCMU/8000', 'm=video 4002 RTP/AVP 96', 'a=rtpmap:96 VP8/90000', ''].join('\r\n');
  const msg = (start: string, headers: string[], body = '') => `${start}\r\n${headers.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const r = `sip:bob@127.0.0.1:${proxyPort}`;
  const route = `Route: <sip:127.0.0.1:${proxyPort};lr>`;
  return [
    msg(`INVITE ${r} SIP/2.0`, [...common('INVITE'), 'Content-Type: application/sdp', 'Supported: replaces, timer', 'Allow: INVITE, ACK, BYE, CANCEL'], sdp),
    msg(`REGISTER sip:127.0.0.1:${proxyPort} SIP/2.0`, [via, 'Max-Forwards: 70', `From: <sip:u${n}@127.0.0.1>;tag=r${n}`, `To: <sip:u${n}@127.0.0.1>`, `Call-ID: reg-${n}`, 'CSeq: 1 REGISTER', `Contact: <sip:u${n}@127.0.0.1:5999>;expires=60;q=0.5`, 'Expires: 60']),
    msg(`BYE sip:bob@127.0.0.1:5998 SIP/2.0`, [route, ...common('BYE', 2, ';tag=fb')]),
    msg(`ACK sip:bob@127.0.0.1:5998 SIP/2.0`, [route, ...common('ACK', 1, ';tag=fb')]),
    msg(`CANCEL ${r} SIP/2.0`, common('CANCEL')),
    msg(`OPTIONS sip:127.0.0.1:${proxyPort} SIP/2.0`, [...common('OPTIONS'), 'Accept: application/sdp']),
    msg(`MESSAGE ${r} SIP/2.0`, [...common('MESSAGE'), 'Content-Type: text/plain'], 'Ahoj, ako sa máš?'),
    msg(`SUBSCRIBE sip:host@127.0.0.1:${proxyPort};conf-id=x SIP/2.0`, [...common('SUBSCRIBE'), 'Event: conference', 'Expires: 600']),
    msg(`NOTIFY sip:bob@127.0.0.1:5998 SIP/2.0`, [route, ...common('NOTIFY', 3, ';tag=fb'), 'Event: refer', 'Subscription-State: active', 'Content-Type: message/sipfrag'], 'SIP/2.0 200 OK\r\n'),
    msg(`REFER sip:bob@127.0.0.1:5998 SIP/2.0`, [route, ...common('REFER', 4, ';tag=fb'), 'Refer-To: <sip:carol@127.0.0.1>', 'Referred-By: <sip:alice@127.0.0.1>']),
    msg('SIP/2.0 180 Ringing', [`Via: SIP/2.0/UDP 127.0.0.1:${proxyPort};branch=z9hG4bK-x-${n}`, via, ...common('INVITE', 1, ';tag=fb').slice(2)]),
    msg('SIP/2.0 200 OK', [`Via: SIP/2.0/UDP 127.0.0.1:${proxyPort};branch=z9hG4bK-x-${n}`, via, ...common('INVITE', 1, ';tag=fb').slice(2), 'Content-Type: application/sdp'], sdp),
    msg('SIP/2.0 486 Busy Here', [`Via: SIP/2.0/UDP 127.0.0.1:${proxyPort};branch=z9hG4bK-x-${n}`, ...common('INVITE', 1, ';tag=fb').slice(1)]),
    msg(`INVITE ${r} SIP/2.0`, [`v: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-c${n}`, `f: <sip:alice@127.0.0.1>;tag=c${n}`, 't: <sip:bob@127.0.0.1>', `i: compact-${n}`, 'CSeq: 1 INVITE', 'Max-Forwards: 70', 'm: <sip:alice@127.0.0.1:5999>', 'Subject: folded', ' over a line']),
  ];
}

// Issue 4: the video call (re-INVITE adding video, ~1.4 KB SDP over UDP) and instant messages, with SIPp.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { assertIdle, assertOk, callee, caller, newCallId, proxyFor, received, sent, waitForBindings } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';

test('video call: a re-INVITE adding m=video with a ~1.4 KB SDP passes the proxy both ways; the log shows one call', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('video');
  const bob = await callee(t, proxy, { scenario: 'callee-video.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  const a = await caller(proxy, { scenario: 'caller-video.xml', service: 'bob', callId });
  const b = await bob.done;
  assertOk(t, a, proxy);
  assertOk(t, b, proxy);
  const reinvite = sent(a, 'INVITE')[1]!;
  t.true(reinvite.text.length > 1400, `the re-INVITE is ${reinvite.text.length} bytes`);
  const got = received(b, 'INVITE')[1]!;
  t.true(got.text.includes('m=video') && got.text.includes(`Via: SIP/2.0/UDP ${proxy.host}:${proxy.port}`), 'the re-INVITE reached the callee through the proxy');
  t.is(received(b, 'ACK').length, 2, 'both ACKs passed the proxy');
  await assertIdle(t, proxy);
  const log = readFileSync(proxy.callLog, 'utf8');
  t.is((log.match(/^-----$/gm) ?? []).length, 1, log);
  t.regex(log, /^-----\nfrom: sip:alice@127\.0\.0\.1\nto: sip:bob@127\.0\.0\.1\nringing: \S+\nstart: \S+\nend: \S+\n$/);
});

function message(port: number, proxyPort: number, to: string, n: number): string {
  const body = 'Ahoj, ako sa máš?';
  return [
    `MESSAGE sip:${to}@127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKmsg${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=m${n}`,
    `To: <sip:${to}@127.0.0.1>`,
    `Call-ID: msg-${n}-${port}`,
    `CSeq: ${n} MESSAGE`,
    'Content-Type: text/plain;charset=UTF-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

test('MESSAGE to a registered user is relayed with its body and the 200 comes back; an unknown user gets 404', async (t) => {
  const proxy = await proxyFor(t);
  const bob = await UdpClient.open();
  const alice = await UdpClient.open();
  t.teardown(() => (bob.close(), alice.close()));
  await bob.send([
    `REGISTER sip:127.0.0.1:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bKregbob`, 'Max-Forwards: 70',
    'From: <sip:bob@127.0.0.1>;tag=b', 'To: <sip:bob@127.0.0.1>', 'Call-ID: reg-bob', 'CSeq: 1 REGISTER',
    `Contact: <sip:bob@127.0.0.1:${bob.port}>`, 'Expires: 300', 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.port);
  await bob.waitFor(/^SIP\/2.0 200/);

  await alice.send(message(alice.port, proxy.port, 'bob', 1), proxy.port);
  const relayed = await bob.waitFor(/^MESSAGE /);
  t.true(relayed.endsWith('Ahoj, ako sa máš?'), 'the UTF-8 body arrives intact');
  t.regex(relayed, new RegExp(`^MESSAGE sip:bob@127\\.0\\.0\\.1:${bob.port} SIP/2.0`), 'the Request-URI is the registered contact');
  // bob answers 200, copying the Vias (the proxy's on top).
  const head = relayed.split('\r\n\r\n')[0]!.split('\r\n');
  const keep = head.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=bobtag` : l));
  await bob.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), proxy.port);
  const ok = await alice.waitFor(/^SIP\/2.0 200/);
  t.regex(ok, /CSeq: 1 MESSAGE/);

  await alice.send(message(alice.port, proxy.port, 'nobody', 2), proxy.port);
  t.regex(await alice.waitFor(/^SIP\/2.0 404/), /CSeq: 2 MESSAGE/);
  await assertIdle(t, proxy);
});

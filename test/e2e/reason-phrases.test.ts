// Issue 4: --reason-phrases rewrites only the reason phrase of the responses the proxy sends.
import test from 'ava';
import { sipMessages, headers } from '../helpers/sipp.js';
import { assertOk, callee, caller, newCallId, proxyFor, waitForBindings } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';

const statusLines = (messages: string) =>
  sipMessages(messages).filter((m) => m.dir === 'received' && m.first.startsWith('SIP/2.0')).map((m) => m.first);

test('--reason-phrases sk: the caller sees 100 Skusam, 180 Zvonim and 486 Nechaj ma na pokoji', async (t) => {
  const proxy = await proxyFor(t, ['--reason-phrases', 'sk']);
  const callId = newCallId('sk');
  const erin = await callee(t, proxy, { scenario: 'callee-busy.xml', service: 'erin', callId });
  await waitForBindings(proxy, 1, [erin]);
  const a = await caller(proxy, { scenario: 'caller-busy.xml', service: 'erin', callId });
  assertOk(t, a, proxy);
  const lines = statusLines(a.messages);
  t.deepEqual(lines, ['SIP/2.0 100 Skusam', 'SIP/2.0 180 Zvonim', 'SIP/2.0 486 Nechaj ma na pokoji'], a.report());
  // Codes and headers are untouched: the 486 still names the INVITE and the callee's tag.
  const busy = sipMessages(a.messages).find((m) => m.first.startsWith('SIP/2.0 486'))!;
  t.regex(headers(busy, 'CSeq')[0]!, /^1 INVITE$/);
  t.regex(headers(busy, 'To')[0]!, /;tag=/);
  assertOk(t, await erin.done, proxy);
});

test('--reason-phrases sk: the proxy\'s own 400 is "Zlá požiadavka", sent as UTF-8', async (t) => {
  const proxy = await proxyFor(t, ['--reason-phrases', 'sk']);
  const c = await UdpClient.open();
  t.teardown(() => c.close());
  await c.send([
    `MESSAGE sip:bob@127.0.0.1:${proxy.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKsk400`,
    'Max-Forwards: 70',
    'From: <sip:a@127.0.0.1>;tag=1',
    'To: <sip:bob@127.0.0.1>',
    'Call-ID: sk-400',
    'CSeq: 1 MESSAGE',
    'Content-Length: 99',
    '',
    'short',
  ].join('\r\n'), proxy.port);
  const res = await c.waitFor(/^SIP\/2.0 400 /);
  t.is(res.split('\r\n')[0], 'SIP/2.0 400 Zlá požiadavka');
});

test('without the flag, the phrases are the callee\'s own', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('plain');
  const erin = await callee(t, proxy, { scenario: 'callee-busy.xml', service: 'erin', callId });
  await waitForBindings(proxy, 1, [erin]);
  const a = await caller(proxy, { scenario: 'caller-busy.xml', service: 'erin', callId });
  assertOk(t, a, proxy);
  t.deepEqual(statusLines(a.messages), ['SIP/2.0 100 Trying', 'SIP/2.0 180 Ringing', 'SIP/2.0 486 Busy Here']);
  assertOk(t, await erin.done, proxy);
});

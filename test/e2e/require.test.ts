// Require at the registrar, against the real proxy over UDP on loopback (RFC 3261 §10.3 step 2,
// §8.2.2.3, RFC 3327 §5.3): a REGISTER requiring an extension this registrar lacks is answered
// 420 Bad Extension with Unsupported and registers nothing.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { UdpClient } from '../helpers/udpClient.js';
import { assertIdle, proxyFor } from '../helpers/flows.js';
import type { RunningProxy } from '../helpers/proxy.js';

async function register(proxy: RunningProxy, c: UdpClient, extra: string[]): Promise<string> {
  const callId = `require-${randomUUID()}`;
  await c.send([
    `REGISTER sip:127.0.0.1:${proxy.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-${randomUUID()};rport`,
    'Max-Forwards: 70',
    'From: <sip:101@127.0.0.1>;tag=r1',
    'To: <sip:101@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:101@127.0.0.1:${c.port}>`,
    'Expires: 300',
    ...extra,
    'Content-Length: 0',
    '', '',
  ].join('\r\n'), proxy.port);
  return c.waitFor(new RegExp(`^SIP/2\\.0 [2-6]\\d\\d [\\s\\S]*\\r\\nCall-ID: ${callId}\\r\\n`));
}

async function client(t: ExecutionContext): Promise<UdpClient> {
  const c = await UdpClient.open();
  t.teardown(() => c.close());
  return c;
}

test('REGISTER with Require: foo, or Require: path with a Path, gets 420 and Unsupported; no binding is made', async (t) => {
  const proxy = await proxyFor(t);
  const c = await client(t);
  const foo = await register(proxy, c, ['Require: foo']);
  t.regex(foo, /^SIP\/2\.0 420 Bad Extension\r\n/, foo);
  t.regex(foo, /\r\nUnsupported: foo\r\n/);
  const path = await register(proxy, c, ['Supported: path', 'Path: <sip:edge.example;lr>', 'Require: path']);
  t.regex(path, /^SIP\/2\.0 420 Bad Extension\r\n/, path);
  t.regex(path, /\r\nUnsupported: path\r\n/);
  t.is((await proxy.status()).bindings, 0, 'nothing registered, so no binding without its Path');
  const plain = await register(proxy, c, []);
  t.regex(plain, /^SIP\/2\.0 200 OK\r\n/, plain);
  t.is((await proxy.status()).bindings, 1);
  await assertIdle(t, proxy);
});

import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { UdpClient } from '../helpers/udpClient.js';

/** A proxy and a UDP peer for one test, both gone at its end. */
async function proxyAndPeer(t: ExecutionContext): Promise<{ proxy: RunningProxy; c: UdpClient; p: number }> {
  const proxy = await startProxy();
  t.teardown(() => proxy.stop());
  const c = await UdpClient.open();
  t.teardown(() => c.close());
  return { proxy, c, p: proxy.port };
}

function options(port: number, proxyPort: number, n: number): string {
  return [
    `OPTIONS sip:127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKopt${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=p${n}`,
    `To: <sip:127.0.0.1:${proxyPort}>`,
    `Call-ID: probe-${n}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function invite(port: number, proxyPort: number, extraHeaders: string[], body = ''): string {
  return [
    `INVITE sip:nobody@127.0.0.1:${proxyPort} SIP/2.0`,
    ...extraHeaders,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKbad${Math.random().toString(36).slice(2)};rport`,
    'Max-Forwards: 70',
    'From: <sip:bad@127.0.0.1>;tag=b',
    'To: <sip:nobody@127.0.0.1>',
    `Call-ID: bad-${Math.random()}`,
    'CSeq: 1 INVITE',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

test('bad input never crashes the proxy, and it answers OPTIONS after each', async (t) => {
  const { proxy, c, p } = await proxyAndPeer(t);
  let n = 0;
  const stillServing = async (what: string) => {
    n++;
    await c.send(options(c.port, p, n), p);
    const res = await c.waitFor(new RegExp(`^SIP/2.0 200 [^\\r]*\\r\\n[\\s\\S]*CSeq: ${n} OPTIONS`));
    t.regex(res, /Allow: .*INVITE/, `OPTIONS answered after ${what}`);
  };

  await stillServing('start');
  for (let i = 0; i < 50; i++) await c.send(randomBytes(1 + Math.floor(Math.random() * 1400)), p);
  await stillServing('random bytes');

  const full = invite(c.port, p, []);
  await c.send(full.slice(0, 90), p);
  await stillServing('a truncated message');

  await c.send(Buffer.alloc(65_000, 0x41), p);
  const big = invite(c.port, p, [], 'v=0\r\n' + 'a=x\r\n'.repeat(12_000));
  await c.send(big.slice(0, 65_000), p);
  await stillServing('64 KiB datagrams');

  // Our own Via stays on top (answers come back to us); the 999 below it are loopback addresses too.
  const vias = Array.from({ length: 999 }, (_, i) => `Via: SIP/2.0/UDP 127.1.${i >> 8}.${i & 255}:5060;branch=z9hG4bKv${i}`);
  await c.send(invite(c.port, p, []).replace('\r\nMax-Forwards:', `\r\n${vias.join('\r\n')}\r\nMax-Forwards:`), p);
  t.regex(await c.waitFor(/^SIP\/2.0 400 /), /header lines/, 'too many headers: 400');
  await stillServing('a request with 1,000 Via headers');

  const lying = invite(c.port, p, []).replace(/Content-Length: 0/, 'Content-Length: 500') + 'short body';
  await c.send(lying, p);
  const res = await c.waitFor(/^SIP\/2.0 400 /);
  t.regex(res, /Content-Length/, 'the 400 says what was wrong');
  await stillServing('a Content-Length larger than the body');

  t.is(proxy.process.exitCode, null, 'the process is still running');
  const s = await proxy.status();
  t.true(s.badMessages > 0);
});

test('a request with one malformed header line is answered 400 naming it; an ACK with one is not answered (§21.4.1)', async (t) => {
  const { proxy, c, p } = await proxyAndPeer(t);
  for (const [bad, named] of [['ThisLineHasNoColon', 'ThisLineHasNoColon'], ['Sub ject: x', 'Sub ject: x'], ['Sub\0ject: x', 'Sub%00ject: x'], ['Sub\xe9ject: x', 'Sub%EF%BF%BDject: x']]) {
    const sent = invite(c.port, p, [bad!]);
    const callId = /Call-ID: (\S+)/.exec(sent)![1]!;
    await c.send(Buffer.from(sent, 'latin1'), p);
    const res = await c.waitFor(new RegExp(`^SIP/2.0 400 [^\\r]*\\r\\n[\\s\\S]*Call-ID: ${callId.replace(/\./g, '\\.')}\\r`));
    t.is(res.split('\r\n')[0], `SIP/2.0 400 Bad Request (malformed header line: ${named})`, JSON.stringify(bad));
  }
  const ack = invite(c.port, p, ['ThisLineHasNoColon']).replace(/INVITE/g, 'ACK');
  await c.send(ack, p);
  await t.throwsAsync(c.waitFor(/^SIP\/2.0 /, 500), undefined, 'the ACK is not answered');
  t.is(proxy.process.exitCode, null, 'the process is still running');
});

test('Max-Forwards must be 0-255 digits: an ACK with another value is dropped, not passed on; other requests get 400 (§20.22, §16.3)', async (t) => {
  const { c: alice, p } = await proxyAndPeer(t);
  const bob = await UdpClient.open();
  t.teardown(() => bob.close());
  const to = (method: string, mf: string, n: number) => [
    `${method} sip:bob@127.0.0.1:${p} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bKmf${method}${n};rport`,
    `Max-Forwards: ${mf}`,
    'From: <sip:alice@127.0.0.1>;tag=a',
    `To: <sip:bob@127.0.0.1>${method === 'ACK' ? ';tag=b' : ''}`,
    `Call-ID: mf-${n}`,
    `CSeq: 1 ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  await bob.send([
    `REGISTER sip:127.0.0.1:${p} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bKmfreg;rport`,
    'From: <sip:bob@127.0.0.1>;tag=r',
    'To: <sip:bob@127.0.0.1>',
    'Call-ID: mf-reg',
    'CSeq: 1 REGISTER',
    `Contact: <sip:bob@127.0.0.1:${bob.port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'), p);
  await bob.waitFor(/^SIP\/2.0 200 /);
  let n = 0;
  for (const mf of ['abc', '1.5', '1e3', '0x10', '256', '999']) {
    await alice.send(to('MESSAGE', mf, ++n), p);
    t.regex(await alice.waitFor(new RegExp(`^SIP/2.0 4[\\s\\S]*Call-ID: mf-${n}\\r`)), /^SIP\/2.0 400 Bad Request - Invalid Max-Forwards\r/, `MESSAGE with ${mf}`);
    await alice.send(to('ACK', mf, ++n), p);
  }
  // The ACKs before it would have reached bob before this one.
  await alice.send(to('ACK', '007', ++n), p);
  t.regex(await bob.waitFor(/^ACK /), new RegExp(`Max-Forwards: 6\\r\\n[\\s\\S]*Call-ID: mf-${n}\\r`));
  await t.throwsAsync(bob.waitFor(/^(ACK|MESSAGE) /, 300), undefined, 'nothing else reached bob');
  await t.throwsAsync(alice.waitFor(/^SIP\/2.0 /, 100), undefined, 'no ACK answered');
});

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN } from '../helpers/proxy.js';
import { LINE_MAX } from '../../src/util/peerLogger.js';

// This test's own ports on loopback, apart from the other tests' (test/helpers/ports.ts).
const PORTS = Array.from({ length: 20 }, (_, i) => 5420 + i);
const ROUNDS = 30;
const PER_ROUND = 100;
const LONG_HOST = 'h'.repeat(900) + '.invalid';

function bindClient(): Promise<Socket> {
  const tryPort = (i: number): Promise<Socket> => new Promise((resolve, reject) => {
    if (i >= PORTS.length) return reject(new Error('no free port in 5420-5439'));
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(tryPort(i + 1));
    });
    s.bind(PORTS[i], '127.0.0.1', () => resolve(s));
  });
  return tryPort(0);
}

interface Proxy {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** The built proxy on the first port of the range it can bind; "cannot listen" moves on to the next. */
async function startProxy(dir: string, taken: number): Promise<Proxy> {
  for (const port of PORTS.filter((p) => p !== taken)) {
    const child = spawn(process.execPath, [MAIN, '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', '--warm-up', '0',
      '--journal', path.join(dir, `journal-${port}`), '--call-log', path.join(dir, `log-${port}.txt`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(false);
      }, 10_000);
      child.stdout!.on('data', () => {
        if (/listening on udp:/.test(out)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (started) return { child, port, stderr: () => err, exited };
    if (!/cannot listen/.test(err)) throw new Error(`the proxy did not start:\n${out}${err}`);
  }
  throw new Error('no port in 5420-5439 for the proxy');
}

function options(proxyPort: number, clientPort: number, n: number): string {
  return [`OPTIONS sip:127.0.0.1:${proxyPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${clientPort};branch=z9hG4bKlf${n};rport`, 'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=p${n}`, `To: <sip:127.0.0.1:${proxyPort}>`, `Call-ID: log-flood-${n}`, `CSeq: ${n} OPTIONS`, 'Content-Length: 0', '', ''].join('\r\n');
}

function inviteToLongHost(clientPort: number, n: number): string {
  return [`INVITE sip:bob@${LONG_HOST} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${clientPort};branch=z9hG4bKlh${n};rport`, 'Max-Forwards: 70',
    'From: <sip:alice@127.0.0.1>;tag=a', 'To: <sip:bob@example.invalid>', `Call-ID: long-host-${n}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n');
}

/** A start line no parser takes, carrying an ESC sequence, a NUL and a line separator to reflect into the log. */
const garbage = (n: number) => `GARBAGE\x1b[2J\x00 \u2028 ${n}\r\n\r\n`;

test('a flood of bad datagrams writes a bounded log: 10 lines a second, a summary of the rest, each line printable and cut', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-log-flood-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = await bindClient();
  t.teardown(() => client.close());
  const clientPort = client.address().port;
  const proxy = await startProxy(dir, clientPort);
  t.teardown(() => {
    proxy.child.kill('SIGKILL');
  });

  const answered = new Set<number>();
  let wake = () => {};
  client.on('message', (m) => {
    const cseq = /CSeq: (\d+) OPTIONS/.exec(m.toString('latin1'));
    if (cseq && m.toString('latin1').startsWith('SIP/2.0 200')) answered.add(Number(cseq[1]));
    wake();
  });
  const send = (text: string) => new Promise<void>((resolve, reject) => client.send(text, proxy.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  const answeredWithin = async (n: number, ms: number) => {
    const end = Date.now() + ms;
    while (!answered.has(n) && Date.now() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
    return answered.has(n);
  };

  // Each round ends with an OPTIONS: once it is answered, the proxy has read the round (no datagram lost to a full buffer).
  for (let round = 1; round <= ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i++) await send(garbage(round * PER_ROUND + i));
    if (round <= 10) await send(inviteToLongHost(clientPort, round));
    await send(options(proxy.port, clientPort, round));
    t.true(await answeredWithin(round, 5000), `OPTIONS ${round} answered`);
  }
  const end = Date.now() + 5000;
  while (!/the name does not resolve/.test(proxy.stderr()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));

  proxy.child.kill('SIGTERM');
  const killer = setTimeout(() => proxy.child.kill('SIGKILL'), 5000);
  t.is(await proxy.exited, 0);
  clearTimeout(killer);

  const stderr = proxy.stderr();
  const lines = stderr.split('\n').slice(0, -1);
  const sent = ROUNDS * PER_ROUND;
  t.true(stderr.length < 16_000, `${stderr.length} bytes of stderr for ${sent} bad datagrams:\n${stderr.slice(0, 2000)}`);
  const written = lines.filter((l) => l.startsWith('warn: bad message from 127.0.0.1')).length;
  const summaries = lines.map((l) => /^warn: bad message from … ([\d,]+) more like this in the last \d+ s suppressed/.exec(l)).filter((m) => m !== null);
  t.true(summaries.length >= 1, 'a summary line');
  const suppressed = summaries.reduce((sum, m) => sum + Number(m[1]!.replaceAll(',', '')), 0);
  t.is(written + suppressed, sent, `${written} written, ${suppressed} summarized`);

  t.false(/[\x00-\x09\x0b-\x1f\x7f\u2028]/.test(stderr), 'nothing but printable text and the newlines ending lines');
  // The parser already names a bad line in %HH (src/sip/excerpt.ts); the log keeps it as it is.
  t.true(lines.includes(`warn: bad message from 127.0.0.1:${clientPort}: malformed request line: GARBAGE%1B[2J%00 %E2%80%A8 ${PER_ROUND}`), stderr.slice(0, 2000));
  for (const l of lines) t.true(l.length <= 'warn: '.length + LINE_MAX + '… (99999 chars)'.length, `a line of ${l.length} chars`);
  t.regex(stderr, /^warn: INVITE to h+… \(\d+ chars\)$/m, 'the unresolvable host named, cut');
});

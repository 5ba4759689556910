import test from 'ava';
import { Supervisor } from '../../src/actors/supervisor.js';
import { asReceived, LoopbackWire, SyntheticTraffic } from '../../src/actors/syntheticTraffic.js';
import { execFileSync } from 'node:child_process';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import type { Address } from '../../src/transport/viaAddressing.js';

const PROXY = { host: '127.0.0.1', port: 5060 };
const CALLER = { host: '127.0.0.1', port: 6000 };
const CALLEE = { host: '127.0.0.1', port: 6001 };

/** The scripted calls through a real supervisor, with every datagram the proxy received kept. */
function scripted(): { traffic: SyntheticTraffic; received: string[]; sup: Supervisor } {
  const wire = new LoopbackWire();
  const sup = new Supervisor(wire, { identity: new LocalIdentity(PROXY) });
  const received: string[] = [];
  const receive = sup.receive.bind(sup);
  sup.receive = (data: Buffer, source: Address) => {
    received.push(data.toString('latin1'));
    receive(data, source);
  };
  return { traffic: new SyntheticTraffic(sup, wire, PROXY, CALLER, CALLEE), received, sup };
}

const headerLines = (text: string, name: string) => text.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name}:`));

test('synthetic calls: the even ones as phones write them, the odd ones as SIPp does (Vias on one line), and the proxy carries both', (t) => {
  const { traffic, received, sup } = scripted();
  traffic.register();
  for (let n = 0; n < 4; n++) {
    received.length = 0;
    // Throws when the proxy does not pass a message on.
    traffic.call(n);
    const invite = received.find((m) => m.startsWith('INVITE '))!;
    const ringing = received.find((m) => m.startsWith('SIP/2.0 180'))!;
    const sipp = n % 2 === 1;
    t.is(invite.split(' ')[1], sipp ? 'sip:callee@127.0.0.1:5060' : 'sip:callee@127.0.0.1', `call ${n}`);
    t.is(headerLines(invite, 'via')[0]!.endsWith(';rport'), !sipp, `call ${n}`);
    // The callee's 180 carries the proxy's Via and the caller's: one line each, or one line for both.
    const vias = headerLines(ringing, 'via');
    t.is(vias.length, sipp ? 1 : 2, `call ${n}`);
    if (sipp) t.is(vias[0]!.split(',').length, 2);
  }
  t.is(sup.stats().internalErrors, 0);
  sup.stop();
});

test('synthetic calls: the callee tag sorts before the caller tag on some calls and after it on others', (t) => {
  const { traffic, received, sup } = scripted();
  traffic.register();
  const order = new Set<boolean>();
  for (let n = 0; n < 4; n++) {
    received.length = 0;
    traffic.call(n);
    const ok = received.find((m) => m.startsWith('SIP/2.0 200') && /CSeq:\s*1 INVITE/i.test(m))!;
    const tag = (name: string) => /;tag=([^;\s]+)/.exec(headerLines(ok, name)[0]!)![1]!;
    order.add(tag('to') < tag('from'));
  }
  t.deepEqual([...order].sort(), [false, true]);
  sup.stop();
});

test('asReceived: a scripted datagram has the bytes, and the hidden class, of one Node\'s dgram delivers', (t) => {
  const b = asReceived(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n', 'latin1'));
  t.true(Buffer.isBuffer(b));
  t.is(b.toString('latin1'), 'OPTIONS sip:x SIP/2.0\r\n\r\n');
  // V8's %HaveSameMap needs --allow-natives-syntax: asked of a child process, against a datagram
  // that went over loopback.
  const script = `
    import dgram from 'node:dgram';
    import { asReceived } from ${JSON.stringify(new URL('../../src/actors/syntheticTraffic.js', import.meta.url).href)};
    const rx = dgram.createSocket('udp4'), tx = dgram.createSocket('udp4');
    rx.bind(0, '127.0.0.1', () => tx.send('x', rx.address().port, '127.0.0.1'));
    rx.on('message', (m) => {
      console.log(JSON.stringify({ scripted: %HaveSameMap(m, asReceived(Buffer.from('OPTIONS'))), bufferFrom: %HaveSameMap(m, Buffer.from('OPTIONS')) }));
      rx.close(); tx.close();
    });`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  t.deepEqual(JSON.parse(out), { scripted: true, bufferFrom: false });
});

import test from 'ava';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { FLOOR_RELAY } from '../../bench/paths.js';

const HOST = '127.0.0.1';

async function bound(): Promise<{ socket: Socket; port: number; received: Array<{ text: string; from: number }> }> {
  const socket = createSocket('udp4');
  const received: Array<{ text: string; from: number }> = [];
  socket.on('message', (m, r) => received.push({ text: m.toString(), from: r.port }));
  socket.bind(0, HOST);
  await once(socket, 'listening');
  return { socket, port: socket.address().port, received };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

// The relay behind bench/nodeFloor.ts: the caller's datagrams go to the callee, the callee's to the
// caller, each after WORK_US of busy work; on SIGTERM it reports datagrams and CPU time.
test('the floor relay passes datagrams both ways and counts them', async (t) => {
  const caller = await bound();
  const callee = await bound();
  const probe = createSocket('udp4');
  probe.bind(0, HOST);
  await once(probe, 'listening');
  const relayPort = probe.address().port;
  probe.close();
  const relay = spawn(process.execPath, [FLOOR_RELAY], {
    env: { ...process.env, RELAY_PORT: String(relayPort), CALLEE_PORT: String(callee.port), CALLER_PORT: String(caller.port), WORK_US: '200' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  relay.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until(() => out.includes('ready'), 5000);
    t.true(out.includes('ready'));
    caller.socket.send('INVITE one', relayPort, HOST);
    caller.socket.send('ACK two', relayPort, HOST);
    await until(() => callee.received.length === 2, 3000);
    callee.socket.send('SIP/2.0 200 OK', relayPort, HOST);
    await until(() => caller.received.length === 1, 3000);
    t.deepEqual(callee.received.map((m) => m.text), ['INVITE one', 'ACK two']);
    t.deepEqual(caller.received, [{ text: 'SIP/2.0 200 OK', from: relayPort }]);
    relay.kill('SIGTERM');
    await once(relay, 'close'); // its stdout drained, not only the process gone
    const report = JSON.parse(/\{.*\}/.exec(out)![0]) as { datagrams: number; cpuUs: number };
    t.is(report.datagrams, 3);
    // Three datagrams of 200 µs of busy work each.
    t.true(report.cpuUs >= 600, `cpu ${report.cpuUs} µs`);
  } finally {
    relay.kill('SIGKILL');
    caller.socket.close();
    callee.socket.close();
  }
});

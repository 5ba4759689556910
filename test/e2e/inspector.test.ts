import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { MAIN, startProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { UdpClient } from '../helpers/udpClient.js';

// With each interpreter of the machines (--engine; src/actors/leanInterpreter.ts).
for (const engine of ['xstate', 'lean']) {
  test(`--inspect relays the live machines to a Stately inspector client (--engine ${engine})`, async (t) => {
    t.timeout(20_000);
    const inspectPort = await freePort();
    const proxy = await startProxy({ args: ['--inspect', String(inspectPort), '--engine', engine] });
    t.teardown(() => proxy.stop());
    // The inspector line follows the listening line, maybe in a later chunk of output.
    const shown = Date.now() + 5000;
    while (!proxy.output().includes(`inspector: open http://localhost:${inspectPort}`) && Date.now() < shown) await new Promise((r) => setTimeout(r, 20));
    t.regex(proxy.output(), new RegExp(`inspector: open http://localhost:${inspectPort}`));
    // The bridge page is served, and only on loopback: the events carry SIP headers.
    t.regex(await (await fetch(`http://127.0.0.1:${inspectPort}/`)).text(), /stately\.ai\/inspect/);
    const listeners = execFileSync('ss', ['-Htln', `sport = :${inspectPort}`], { encoding: 'utf8' }).trim().split('\n');
    t.deepEqual(listeners.map((l) => l.split(/\s+/)[3]), [`127.0.0.1:${inspectPort}`]);

    // The same socket the inspector page opens.
    const ws = new WebSocket(`ws://localhost:${inspectPort}`);
    t.teardown(() => ws.close());
    const seen: string[] = [];
    ws.on('message', (d) => seen.push(String(d)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

    const c = await UdpClient.open();
    t.teardown(() => c.close());
    await c.send([
      `OPTIONS sip:${proxy.host}:${proxy.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKinspect1`,
      'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=1',
      `To: <sip:${proxy.host}:${proxy.port}>`,
      'Call-ID: inspect-1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '', '',
    ].join('\r\n'), proxy.port);
    await c.waitFor(/^SIP\/2.0 200/);
    const deadline = Date.now() + 5000;
    while (!seen.some((s) => s.includes('nonInviteServerTransaction')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.true(seen.some((s) => s.includes('nonInviteServerTransaction')), `inspector saw: ${seen.length} messages`);
    t.true(seen.some((s) => s.includes('"respond"')), 'the respond event is visible');
    const until = Date.now() + 5000;
    while (!seen.some((s) => s.includes('"value":"completed"')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    t.true(seen.some((s) => s.includes('"value":"completed"')), 'the snapshot shows the transaction in Completed (§17.2.2)');
  });
}

test('--inspect on a port in use: one line and exit code 1', async (t) => {
  t.timeout(20_000);
  const inspectPort = await freePort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(inspectPort, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const sipPort = await freePort();
  const r = spawnSync(process.execPath, [MAIN, '--host', '127.0.0.1', '--port', String(sipPort), '--inspect', String(inspectPort)], { encoding: 'utf8', timeout: 15_000 });
  t.is(r.status, 1);
  t.is(r.stderr, `sipstate: cannot start the inspector on 127.0.0.1:${inspectPort}: the port is already in use\n`);
});

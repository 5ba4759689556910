// Issue "Event-sourced journal": kill -9 the proxy while SIPp drives calls at a steady rate,
// restart it on the same journal, and check nothing acknowledged was lost.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN, startProxy, type RunningProxy } from '../helpers/proxy.js';
import { startSipp, sipMessages, headers } from '../helpers/sipp.js';
import { freePort } from '../helpers/ports.js';
import { registerContact, TIMERS } from '../helpers/flows.js';

test('kill -9 under load: the journal reopens cleanly and every call the caller saw end is in the rebuilt log (--fsync always)', async (t) => {
  t.timeout(90_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const journal = path.join(dir, 'journal');
  const callLog = path.join(dir, 'log.txt');
  const args = [...TIMERS, '--fsync', 'always'];
  const port = await freePort();
  let proxy = await startProxy({ port, args, journal, callLog });
  t.teardown(() => proxy.stop());

  const uasPort = await freePort();
  const uas = await startSipp({ scenario: 'uas-busy-load.xml', remote: `127.0.0.1:${port}`, port: uasPort, calls: 100_000, timeoutMs: 60_000, label: 'callee' });
  t.teardown(() => uas.stop());
  await registerContact(proxy, 'bob', uasPort);

  const uac = await startSipp({
    scenario: 'uac-busy-load.xml', remote: `127.0.0.1:${port}`, service: 'bob', calls: 150, args: ['-r', '30', '-rp', '1000'], timeoutMs: 40_000, label: 'caller',
  });
  t.teardown(() => uac.stop());

  await new Promise((r) => setTimeout(r, 2000));
  proxy.process.kill('SIGKILL');
  await new Promise((resolve) => proxy.process.once('exit', resolve));
  const firstRun = proxy.output();
  // Same port, same journal: the caller's later calls go through the new process.
  proxy = await startProxy({ port, args, journal, callLog });
  const restart = proxy.output();
  t.notRegex(restart, /corrupt/, restart);
  t.regex(restart, /journal .*: \d+ events, 1 live bindings/, 'the callee\'s binding survived the crash');

  const caller = await uac.done;
  await proxy.stop();
  const ended = new Set(
    sipMessages(caller.messages)
      .filter((m) => m.dir === 'received' && m.first.startsWith('SIP/2.0 486'))
      .map((m) => headers(m, 'Call-ID')[0]!),
  );
  t.true(ended.size > 20, `few calls ended (${ended.size}):\n${caller.report()}\n${firstRun}`);

  const replayed = path.join(dir, 'replayed.txt');
  const out = execFileSync(process.execPath, [MAIN, 'replay', '--journal', journal, '--call-log', replayed, '--call-log-format', 'extended']).toString();
  t.regex(out, /replayed \d+ events/);
  const logged = new Set([...readFileSync(replayed, 'utf8').matchAll(/^call-id: (.*)$/gm)].map((m) => m[1]!));
  const missing = [...ended].filter((id) => !logged.has(id));
  t.deepEqual(missing, [], 'calls whose 486 reached the caller but are not in the rebuilt log');
  t.log(`${ended.size} calls ended at the caller; ${logged.size} in the rebuilt log`);
});

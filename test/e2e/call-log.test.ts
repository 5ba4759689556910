// Issue "Event-sourced journal": the seed's calls through the real proxy with SIPp, log.txt checked
// line by line, and `sipstate replay` rebuilding it byte for byte from the journal alone.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAIN } from '../helpers/proxy.js';
import { assertOk, callee, caller, newCallId, proxyFor, waitForBindings, workspace } from '../helpers/flows.js';

const HMS = '\\d\\d:\\d\\d:\\d\\d';

// The same calls with each interpreter of the machines (--engine; src/actors/leanInterpreter.ts).
for (const engine of ['xstate', 'lean']) {
  test(`answered, declined, cancelled, busy and unanswered calls: log.txt in the original format, replay byte-identical (--engine ${engine})`, async (t) => {
    const { dir, journal, callLog } = workspace(t, `calllog-${engine}`);
    const proxy = await proxyFor(t, ['--timer-c', '2000', '--fsync', 'always', '--engine', engine], { journal, callLog, timeoutMs: 90_000 });

    // Each flow: its own callee user, so an earlier callee's binding is never forked to.
    const flows: Array<[user: string, calleeScenario: string, callerScenario: string]> = [
      ['bob', 'callee-answer.xml', 'caller-call.xml'],
      ['carol', 'callee-decline.xml', 'caller-decline.xml'],
      ['dave', 'callee-ring.xml', 'caller-cancel.xml'],
      ['erin', 'callee-busy.xml', 'caller-busy.xml'],
      ['frank', 'callee-ring.xml', 'caller-timeout.xml'],
    ];
    let bindings = 0;
    for (const [user, calleeScenario, callerScenario] of flows) {
      const callId = newCallId(user);
      const c = await callee(t, proxy, { scenario: calleeScenario, service: user, callId });
      await waitForBindings(proxy, ++bindings, [c]);
      assertOk(t, await caller(proxy, { scenario: callerScenario, service: user, callId }), proxy);
      assertOk(t, await c.done, proxy);
    }
    // Also a call to nobody: it fails before ringing and still gets an entry.
    assertOk(t, await caller(proxy, { scenario: 'caller-unknown.xml', service: 'nobody', callId: newCallId('nobody') }), proxy);

    const lines = readFileSync(callLog, 'utf8').split('\n');
    const expected = [
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:bob@127.0.0.1', `ringing: ${HMS}`, `start: ${HMS}`, `end: ${HMS}`,
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:carol@127.0.0.1', `ringing: ${HMS}`, `declined: ${HMS}`,
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:dave@127.0.0.1', `ringing: ${HMS}`, `request terminated: ${HMS}`,
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:erin@127.0.0.1', `ringing: ${HMS}`, `busy -> ended: ${HMS}`,
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:frank@127.0.0.1', `ringing: ${HMS}`, `failed: ${HMS} \\(408 Request Timeout\\)`,
      '-----', 'from: sip:alice@127.0.0.1', 'to: sip:nobody@127.0.0.1', `failed: ${HMS} \\(404 Not Found\\)`,
      '',
    ];
    t.is(lines.length, expected.length, lines.join('\n'));
    expected.forEach((re, i) => t.regex(lines[i] ?? '', new RegExp(`^${re}$`), `line ${i + 1}`));

    const live = readFileSync(callLog);
    await proxy.stop();
    const replayed = path.join(dir, 'replayed.txt');
    const out = execFileSync(process.execPath, [MAIN, 'replay', '--journal', journal, '--call-log', replayed]).toString();
    t.regex(out, /6 calls written/);
    t.true(readFileSync(replayed).equals(live), 'replay must rebuild log.txt byte for byte');
  });
}

test('replay and calls on a journal folder that is not there: one line, exit 1, the call log untouched', (t) => {
  const { dir, callLog } = workspace(t, 'calllog');
  writeFileSync(callLog, '-----\nfrom: sip:a@b\n');
  const missing = path.join(dir, 'no-such-journal');
  const replay = spawnSync(process.execPath, [MAIN, 'replay', '--journal', missing, '--call-log', callLog], { encoding: 'utf8', timeout: 10_000 });
  t.is(replay.status, 1);
  t.is(replay.stderr, `sipstate: no journal folder at ${missing} (give it with --journal DIR)\n`);
  t.is(readFileSync(callLog, 'utf8'), '-----\nfrom: sip:a@b\n');
  const calls = spawnSync(process.execPath, [MAIN, 'calls', '--journal', missing], { encoding: 'utf8', timeout: 10_000 });
  t.is(calls.status, 1);
  t.regex(calls.stderr, /no journal folder/);
});

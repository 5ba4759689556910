import test from 'ava';
import { warmUp } from '../../src/actors/warmUp.js';
import { DEFAULT_WARM_UP_CALLS, parseProxyArgs } from '../../src/cli/args.js';
import type { SipResponse } from '../../src/sip/message.js';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

for (const engine of ['xstate', 'lean'] as const) {
  // Serial: the timer count below is the whole process's.
  test.serial(`warm-up (${engine}): every scripted call goes through, with the real options' rewriter, and no timer is left behind`, async (t) => {
    const before = timeouts();
    const rewritten = new Map<number, number>();
    const r = await warmUp(300, {
      engine,
      rewriteResponse: (res: SipResponse) => {
        rewritten.set(res.status, (rewritten.get(res.status) ?? 0) + 1);
        return res;
      },
    });
    t.is(r.calls, 300);
    t.is(r.error, undefined);
    // Each call: the proxy's own 100, the callee's 180 and two 200s (INVITE, BYE) passed on.
    t.is(rewritten.get(100), 300);
    t.is(rewritten.get(180), 300);
    // The 200s of the calls, and of the REGISTERs (one at start, one every ten calls).
    t.is(rewritten.get(200), 2 * 300 + 1 + 30);
    // The lingering transactions' timers (64*T1 of the warm-up's own timers) have all fired or been
    // cancelled: the throw-away supervisor keeps nothing alive in the real one's process.
    t.is(timeouts(), before);
  });
}

test('warm-up: a call that does not go through stops it, and it says why (the proxy starts anyway)', async (t) => {
  // Every request taken for a scanner's is dropped unanswered: the first REGISTER gets no 200.
  const r = await warmUp(100, { engine: 'xstate', isScanner: () => true });
  t.is(r.calls, 0);
  t.regex(r.error ?? '', /nothing starting with "SIP\/2\.0 200"/);
});

test('--warm-up: 3000 calls by default, 0 for none, anything else refused', (t) => {
  const of = (argv: string[]) => {
    const s = parseProxyArgs(argv);
    return s === 'help' ? null : s.warmUpCalls;
  };
  t.is(DEFAULT_WARM_UP_CALLS, 3000);
  t.is(of([]), 3000);
  t.is(of(['--warm-up', '0']), 0);
  t.is(of(['--warm-up', '500']), 500);
  t.throws(() => parseProxyArgs(['--warm-up', 'lots']), { message: /--warm-up needs a whole number/ });
});

test.serial('warm-up: while the event loop is kept busy (a flood, a load near the limit), it waits; then it goes on', async (t) => {
  // Busy all the time but for a turn of the loop between slices, as a proxy serving a flood is.
  let busy = true;
  const busyUntil = Date.now() + 1000;
  const spin = () => {
    if (Date.now() >= busyUntil) {
      busy = false;
      return;
    }
    const end = Date.now() + 4;
    while (Date.now() < end);
    setImmediate(spin);
  };
  spin();
  const r = await warmUp(50, { engine: 'xstate' });
  t.false(busy, 'the warm-up ended only after the busy second');
  t.is(r.calls, 50);
  t.is(r.error, undefined);
});

test.serial('warm-up with a journal: its calls and bindings are journaled, the calls projected to a log.txt, in a temporary directory, which is gone at the end', async (t) => {
  // This process's only (its id is in the name): proxies of tests running beside this one warm up too.
  const scratchDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith(`sipstate-warm-up-${process.pid}-`));
  const before = new Set(scratchDirs());
  let seen = 0;
  let logged = 0;
  let bindings = false;
  // Read while the warm-up runs: its pauses between turns let this timer in.
  const watch = setInterval(() => {
    for (const d of scratchDirs()) {
      if (before.has(d)) continue;
      seen++;
      try {
        logged = Math.max(logged, (readFileSync(path.join(tmpdir(), d, 'log.txt'), 'utf8').match(/^-----$/gm) ?? []).length);
        const journal = path.join(tmpdir(), d, 'journal');
        for (const f of readdirSync(journal)) if (readFileSync(path.join(journal, f), 'utf8').includes('"type":"binding.')) bindings = true;
      } catch {
        // Not written yet, or removed just now.
      }
    }
  }, 5);
  const r = await warmUp(600, { engine: 'xstate' }, undefined, { fsync: 'batch', callLogFormat: 'original' });
  clearInterval(watch);
  t.is(r.calls, 600);
  t.is(r.error, undefined);
  t.true(seen > 0, 'a scratch directory while it ran');
  t.true(logged > 0, `calls in its log.txt: ${logged}`);
  t.true(bindings, 'its REGISTERs journaled their bindings');
  t.deepEqual(scratchDirs().filter((d) => !before.has(d)), [], 'and none left');
});

import test from 'ava';
import { allocationByOwner, selfByPart, timeByOwner, topSelf, type CpuProfile } from '../../bench/profileParts.js';

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, lineNumber: 9 }, children });
const XSTATE = 'file:///app/node_modules/xstate/dist/raise.cjs.js';
const SUPERVISOR = 'file:///app/dist/src/actors/supervisor.js';

/**
 * (root) -> dispatch (ours) -> microstep (xstate) -> Set (a built-in, no url)
 *                           -> send (node:dgram)
 *        -> processTimers (node:internal/timers)
 *        -> (garbage collector)
 */
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 6, 7]),
    frame(2, 'dispatch', SUPERVISOR, [3, 5]),
    frame(3, 'microstep', XSTATE, [4]),
    frame(4, 'Set', ''),
    frame(5, 'send', 'node:dgram'),
    frame(6, 'processTimers', 'node:internal/timers'),
    frame(7, '(garbage collector)', ''),
  ],
  // Set 4 times, microstep twice, dispatch once, send twice, timers once, GC twice: 12 samples.
  samples: [4, 4, 4, 4, 3, 3, 2, 5, 5, 6, 7, 7],
};

test('time by owner: a built-in counts for the part that called it, Node functions for ours, GC apart', (t) => {
  const owners = Object.fromEntries(timeByOwner(profile));
  t.deepEqual(owners, {
    xstate: 6 / 12,
    'sipstate actors': 3 / 12,
    '(garbage collector)': 2 / 12,
    'node (nothing of ours on the stack)': 1 / 12,
  });
});

test('self time by part and by function leave built-ins where they ran', (t) => {
  const parts = Object.fromEntries(selfByPart(profile));
  t.is(parts['native Set'], 4 / 12);
  t.is(parts.xstate, 2 / 12);
  t.is(parts['sipstate actors'], 1 / 12);
  t.is(parts.node, 3 / 12);
  const top = topSelf(profile, 2);
  t.deepEqual(top.map((r) => r.name), ['Set', 'microstep node_modules/xstate/dist/raise.cjs.js:10']);
  t.is(top[0]!.share, 4 / 12);
});

test('bytes by owner: what a built-in allocates counts for the part that called it', (t) => {
  const node = (url: string, selfSize: number, children: Parameters<typeof allocationByOwner>[0][] = []) => ({ callFrame: { functionName: 'f', url }, selfSize, children });
  // (root) -> dispatch (ours, 100 B) -> microstep (xstate, 50 B) -> Set (built-in, 250 B); a timer of Node's alone, 100 B.
  const head = node('', 0, [node(SUPERVISOR, 100, [node(XSTATE, 50, [node('', 250)])]), node('node:internal/timers', 100)]);
  const { bytes, owners } = allocationByOwner(head);
  t.is(bytes, 500);
  t.deepEqual(Object.fromEntries(owners), { xstate: 0.6, 'sipstate actors': 0.2, 'node (nothing of ours on the stack)': 0.2 });
});

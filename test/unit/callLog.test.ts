import test from 'ava';
import { CallHistory } from '../../src/projections/callHistory.js';
import { formatCallEntry } from '../../src/projections/callLogFormat.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { format } from 'date-fns/format';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CallLogWriter } from '../../src/projections/callLogWriter.js';

let seq = 0;
const at = (h: number, m: number, s: number) => new Date(2026, 10, 24, h, m, s).toISOString();
const ev = (type: string, ts: string, callId: string, extra: Record<string, unknown> = {}): JournalEvent =>
  ({ v: 1, seq: ++seq, ts, type, callId, fromTag: 't', from: 'sip:101@192.168.99.214', to: 'sip:444@192.168.99.214', ...extra }) as JournalEvent;

function log(events: JournalEvent[], fmt: 'original' | 'extended' = 'original'): string {
  const h = new CallHistory();
  return events.map((e) => h.apply(e)).filter((c) => c !== null).map((c) => formatCallEntry(c!, fmt)).join('');
}

test('the original format: answered, declined, request terminated, busy (seed section 4)', (t) => {
  const text = log([
    ev('call.ringing', at(16, 7, 54), 'n'), ev('call.answered', at(16, 7, 56), 'n', { toTag: 'x' }), ev('call.ended', at(16, 8, 0), 'n'),
    ev('call.ringing', at(16, 8, 33), 'd'), ev('call.declined', at(16, 8, 37), 'd', { status: 603 }),
    ev('call.ringing', at(16, 8, 58), 'c'), ev('call.cancelled', at(16, 9, 2), 'c', { status: 487 }),
    ev('call.ringing', at(13, 35, 47), 'b'), ev('call.busy', at(13, 36, 18), 'b', { status: 486 }),
  ]);
  t.is(text, [
    '-----', 'from: sip:101@192.168.99.214', 'to: sip:444@192.168.99.214', 'ringing: 16:07:54', 'start: 16:07:56', 'end: 16:08:00',
    '-----', 'from: sip:101@192.168.99.214', 'to: sip:444@192.168.99.214', 'ringing: 16:08:33', 'declined: 16:08:37',
    '-----', 'from: sip:101@192.168.99.214', 'to: sip:444@192.168.99.214', 'ringing: 16:08:58', 'request terminated: 16:09:02',
    '-----', 'from: sip:101@192.168.99.214', 'to: sip:444@192.168.99.214', 'ringing: 13:35:47', 'busy -> ended: 13:36:18',
    '',
  ].join('\n'));
});

test('a call that fails before ringing gets an entry with the code', (t) => {
  t.is(log([ev('call.failed', at(9, 0, 1), 'f', { status: 404 })]), '-----\nfrom: sip:101@192.168.99.214\nto: sip:444@192.168.99.214\nfailed: 09:00:01 (404 Not Found)\n');
});

test('a forked call logs once: ringing from two phones, one answer', (t) => {
  const text = log([
    ev('call.ringing', at(10, 0, 0), 'k'), ev('call.answered', at(10, 0, 3), 'k', { toTag: 'a' }), ev('call.ended', at(10, 0, 9), 'k'),
  ]);
  t.is(text.match(/-----/g)!.length, 1);
});

test('the extended format adds the date, the Call-ID and the duration', (t) => {
  const text = log([ev('call.ringing', at(16, 7, 54), 'n'), ev('call.answered', at(16, 7, 56), 'n'), ev('call.ended', at(17, 8, 0), 'n')], 'extended');
  t.is(text, `-----\ndate: ${format(new Date(at(16, 7, 54)), 'yyyy-MM-dd')}\ncall-id: n\nfrom: sip:101@192.168.99.214\nto: sip:444@192.168.99.214\nringing: 16:07:54\nstart: 16:07:56\nend: 17:08:00\nduration: 1:00:04\n`);
});

test('times are the local time of each instant, also when two instants are written alike but for their offset', (t) => {
  // 09:00:00 UTC and 10:00:00 UTC: the same text up to the offset.
  const ringing = '2026-11-24T10:00:00.000+01:00';
  const answered = '2026-11-24T10:00:00.400Z';
  const ended = '2026-11-24T10:00:01.000Z';
  const text = log([ev('call.ringing', ringing, 'tz'), ev('call.answered', answered, 'tz', { status: 200 }), ev('call.ended', ended, 'tz')]);
  const local = (iso: string) => format(new Date(iso), 'HH:mm:ss');
  t.true(text.includes(`ringing: ${local(ringing)}\nstart: ${local(answered)}\nend: ${local(ended)}\n`), text);
  t.not(local(ringing), local(answered));
  t.not(local(answered), local(ended));
});

test('CallLogWriter appends each durable batch to log.txt through one open file, and after a rebuild writes to the new file, not the replaced one', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-calllog-'));
  try {
    const file = path.join(dir, 'log.txt');
    const w = new CallLogWriter(file, new CallHistory(), 'original');
    w.rebuild([]);
    const call = (id: string) => [ev('call.ringing', at(16, 7, 54), id), ev('call.answered', at(16, 7, 56), id, { toTag: 'x' }), ev('call.ended', at(16, 8, 0), id)];
    const [r1, a1, e1] = call('w1');
    w.onEvents([r1!, a1!]);
    t.is(readFileSync(file, 'utf8'), '', 'nothing until the call is finished');
    w.onEvents([e1!]);
    const one = readFileSync(file, 'utf8');
    t.regex(one, /^-----\nfrom: sip:101@192\.168\.99\.214\n.*end: 16:08:00\n$/s);
    // A rebuild (temp file renamed over log.txt) leaves the old descriptor behind.
    w.rebuild([]);
    w.onEvents(call('w2'));
    t.is(readFileSync(file, 'utf8'), one, 'the second call went to the rebuilt file');
    w.close();
    w.onEvents(call('w3'));
    t.is(readFileSync(file, 'utf8'), one + one, 'and after close() a batch opens it again');
    w.close();
    // Moved away (logrotate) or deleted: the next batch goes to a new log.txt at the path.
    const rotating = new CallLogWriter(file, new CallHistory(), 'original', 0);
    rotating.onEvents(call('w4'));
    renameSync(file, `${file}.1`);
    rotating.onEvents(call('w5'));
    t.is(readFileSync(file, 'utf8'), one, 'a new log.txt after the rotation');
    t.is(readFileSync(`${file}.1`, 'utf8'), one + one + one, 'the rotated file kept what it had');
    rmSync(file);
    rotating.onEvents(call('w6'));
    t.is(readFileSync(file, 'utf8'), one, 'and again after a delete');
    rotating.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CallLogWriter projects a large durable batch a few events per turn of the event loop, in order, and close() writes what is left', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-calllog-'));
  try {
    const file = path.join(dir, 'log.txt');
    const w = new CallLogWriter(file, new CallHistory(), 'extended');
    w.rebuild([]);
    const batch = (from: number, calls: number) =>
      Array.from({ length: calls }, (_, i) => [
        ev('call.ringing', at(16, 7, 54), `c${from + i}`),
        ev('call.answered', at(16, 7, 56), `c${from + i}`, { toTag: 'x' }),
        ev('call.ended', at(16, 8, 0), `c${from + i}`),
      ]).flat();
    const ids = (): string[] => [...readFileSync(file, 'utf8').matchAll(/call-id: (\S+)/g)].map((m) => m[1]!);
    // 100 calls in one batch: the listener returns having written only the first few.
    w.onEvents(batch(0, 100));
    const atOnce = ids().length;
    t.true(atOnce > 0 && atOnce < 100, `written at once: ${atOnce}`);
    // A second batch queues behind the first: still in journal order.
    w.onEvents(batch(100, 50));
    // A few turns of the event loop; bounded, so that a loaded machine's slow turns do not fail it.
    for (const end = Date.now() + 5000; ids().length < 150 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    t.deepEqual(ids(), Array.from({ length: 150 }, (_, i) => `c${i}`));
    // close() projects at once whatever still waits (shutdown).
    w.onEvents(batch(150, 100));
    w.close();
    t.deepEqual(ids(), Array.from({ length: 250 }, (_, i) => `c${i}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

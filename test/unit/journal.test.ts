import test from 'ava';
import { LocationService } from '../../src/actors/locationService.js';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JournalWriter } from '../../src/journal/writer.js';
import { parseProxyArgs } from '../../src/cli/args.js';
import { readJournal } from '../../src/journal/reader.js';
import { recover } from '../../src/journal/recovery.js';
import { listSegments } from '../../src/journal/segments.js';
import type { CallEventBody, JournalEvent } from '../../src/journal/events.js';
import { journalBindingEvent } from '../../src/actors/journalBridge.js';
import { journalLapsedBindings, restoreLocation } from '../../src/cli/journalSetup.js';
import { planRegistration, DEFAULT_REGISTRAR_POLICY } from '../../src/proxy/registrar.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import type { SipRequest } from '../../src/sip/message.js';
import { msg } from '../helpers/messages.js';

function tempDir(t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(path.join(tmpdir(), 'journal-test-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const call = (type: CallEventBody['type'], callId = 'c1', extra: Partial<CallEventBody> = {}): CallEventBody => ({
  type, callId, fromTag: 'ft', from: 'sip:101@10.0.0.9', to: 'sip:444@10.0.0.9', ...extra,
});

test('events get gapless sequence numbers and ISO timestamps, across a reopen', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(call('call.ringing'), Date.UTC(2026, 10, 24, 16, 7, 54, 123));
  w.append(call('call.answered', 'c1', { toTag: 'tt', status: 200 }));
  w.close();
  const first: JournalEvent[] = [];
  const r1 = readJournal(dir, (e) => first.push(e));
  t.is(r1.lastSeq, 2);
  t.is(first[0]!.ts, '2026-11-24T16:07:54.123Z');
  t.is(first[0]!.v, 1);
  const w2 = new JournalWriter(dir, r1.lastSeq, { fsync: 'batch', segmentBytes: 1 << 20, batchMs: 10 });
  w2.append(call('call.ended'));
  w2.close();
  const all: JournalEvent[] = [];
  readJournal(dir, (e) => all.push(e));
  t.deepEqual(all.map((e) => e.seq), [1, 2, 3]);
});

test('batch mode writes nothing until the group commit, then tells listeners in order', async (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'batch', segmentBytes: 1 << 20, batchMs: 10 });
  const seen: number[] = [];
  w.onDurable((es) => seen.push(...es.map((e) => e.seq)));
  for (let i = 0; i < 5; i++) w.append(call('call.ringing', `c${i}`));
  t.deepEqual(seen, []);
  t.is(readFileSync(listSegments(dir)[0]!.file, 'utf8'), '');
  // The group commit writes after 10 ms, then syncs off the event loop before telling listeners.
  for (let i = 0; i < 100 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(seen, [1, 2, 3, 4, 5]);
  t.is(readFileSync(listSegments(dir)[0]!.file, 'utf8').split('\n').length, 6);
  w.close();
});

test('batch mode writes every batchMs but syncs at most once per syncIntervalMs; each batch is told once synced, in order', async (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'batch', segmentBytes: 1 << 20, batchMs: 5, syncIntervalMs: 100 });
  const seen: number[] = [];
  w.onDurable((es) => seen.push(...es.map((e) => e.seq)));
  const started = performance.now();
  let n = 0;
  // An append every 5 ms for 250 ms: some 50 write-outs, while the syncs are paced to 100 ms.
  while (performance.now() - started < 250) {
    w.append(call('call.ringing', `c${++n}`));
    await new Promise((r) => setTimeout(r, 5));
  }
  const lines = readFileSync(listSegments(dir)[0]!.file, 'utf8').split('\n').length - 1;
  t.true(lines >= n - 2, `written ${lines} of ${n} appends while appending`);
  const elapsed = performance.now() - started;
  // Unpaced, each 5 ms write-out would start a sync of its own (some 50). At least one has started;
  // a slow disk may still be on it.
  t.true(w.syncs >= 1 && w.syncs <= Math.ceil(elapsed / 100) + 1, `${w.syncs} syncs in ${elapsed.toFixed(0)} ms`);
  for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(seen, Array.from({ length: n }, (_, i) => i + 1));
  w.close();
});

test('segments rotate by size and are read back in order', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'off', segmentBytes: 600, batchMs: 10 });
  for (let i = 0; i < 30; i++) {
    w.append(call('call.ringing', `call-${i}`));
    w.flush();
  }
  w.close();
  t.true(listSegments(dir).length > 3);
  const seqs: number[] = [];
  readJournal(dir, (e) => seqs.push(e.seq));
  t.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i + 1));
});

test('a torn last line is cut off on open and appending continues cleanly', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(call('call.ringing'));
  w.append(call('call.answered', 'c1', { toTag: 'x' }));
  w.close();
  const file = listSegments(dir)[0]!.file;
  appendFileSync(file, '{"v":1,"seq":3,"ts":"2026-11-24T1');
  const r = recover(dir);
  t.is(r.tornBytes, Buffer.byteLength('{"v":1,"seq":3,"ts":"2026-11-24T1'));
  t.is(r.report.lastSeq, 2);
  t.deepEqual(r.report.corrupt, []);
  const w2 = new JournalWriter(dir, r.report.lastSeq, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w2.append(call('call.ended'));
  w2.close();
  const again = recover(dir);
  t.is(again.tornBytes, 0);
  t.is(again.report.events, 3);
  t.is(again.finished.length, 1);
});

test('a corrupt line in the middle is reported with its segment and line, never silently skipped', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(call('call.ringing'));
  w.close();
  const file = listSegments(dir)[0]!.file;
  appendFileSync(file, 'garbage that is not json\n');
  const w2 = new JournalWriter(dir, 1, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w2.append(call('call.declined', 'c1', { status: 603 }));
  w2.close();
  const r = recover(dir);
  t.is(r.report.corrupt.length, 1);
  t.like(r.report.corrupt[0], { segment: 'segment-000001.jsonl', line: 2 });
  t.is(r.report.events, 2);
});

test('recovery: live bindings come back with their absolute deadline, expired ones do not', (t) => {
  const dir = tempDir(t);
  const now = Date.UTC(2026, 10, 24, 12, 0, 0);
  const b = (type: 'binding.added' | 'binding.expired', contact: string, expiresAt: number) => ({
    type, aor: 'sip:101@10.0.0.9', user: '101', contact, q: 1, expires: new Date(expiresAt).toISOString(), callId: 'r', cseq: 1, source: '10.0.0.1:5060',
  });
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(b('binding.added', 'sip:101@10.0.0.1:5062', now + 60_000), now - 3_540_000);
  w.append(b('binding.added', 'sip:101@10.0.0.2:5062', now - 1_000), now - 3_600_000);
  w.append(b('binding.added', 'sip:101@10.0.0.3:5062', now + 60_000), now - 1000);
  w.append(b('binding.expired', 'sip:101@10.0.0.3:5062', now + 60_000), now - 500);
  w.append({ ...b('binding.expired', 'sip:102@10.0.0.4:5062', now - 10), aor: 'sip:102@10.0.0.9', user: '102' }, now - 10);
  w.close();
  const r = recover(dir, now);
  t.deepEqual(r.bindings.map((x) => [x.binding.contact, x.binding.expiresAt]), [['sip:101@10.0.0.1:5062', now + 60_000]]);
  // 102 has no binding left but registered once: still known, so a call to it is 480, not 404.
  t.deepEqual(r.knownAors, [{ user: '101', aor: 'sip:101@10.0.0.9' }, { user: '102', aor: 'sip:102@10.0.0.9' }]);
  const location = new LocationService(() => {}, () => now);
  for (const k of r.knownAors) location.restoreKnown(k.user, k.aor);
  for (const x of r.bindings) location.restore(x.user, x.aor, x.binding);
  t.deepEqual(location.lookup('102'), { known: true, bindings: [] });
  t.false(location.lookup('103').known);
  t.is(location.lookup('101').bindings.length, 1);
  location.close();
});

/** A REGISTER of grace's phone from `port`, with its instance and reg-id (RFC 5626). */
function instanceRegister(port: number, cseq: number) {
  const r = msg(`REGISTER sip:10.0.0.9 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:${port};branch=z9hG4bK${cseq}
From: <sip:grace@10.0.0.9>;tag=1
To: <sip:grace@10.0.0.9>
Call-ID: reg-grace
CSeq: ${cseq} REGISTER
Contact: <sip:grace-0x1@10.0.0.5:${port}>;+sip.instance="<urn:uuid:44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f>";reg-id=1
Expires: 600

`) as SipRequest;
  const me = new LocalIdentity({ host: '10.0.0.9', port: 5060 });
  const p = planRegistration(r, DEFAULT_REGISTRAR_POLICY, (u) => me.isLocalDomain(u));
  if (!p.ok) throw new Error(`rejected ${p.status}`);
  return { plan: p, ident: { callId: 'reg-grace', cseq, source: `10.0.0.5:${port}` } };
}

test('recovery: a binding an instance replaced from a new port does not come back after a restart or in a replay; the restored one is still replaced by the instance', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  const live = new LocationService((e) => journalBindingEvent(w, e));
  for (const [port, cseq] of [[5747, 1], [5749, 2]] as const) {
    const { plan, ident } = instanceRegister(port, cseq);
    t.true(live.apply(plan, ident).ok);
  }
  live.close();
  w.close();
  const types: string[] = [];
  readJournal(dir, (e) => types.push(`${e.type}${'reason' in e && e.reason ? ` (${e.reason})` : ''}`));
  t.deepEqual(types, ['binding.added', 'binding.removed (replaced)', 'binding.added']);
  const restarted = recover(dir);
  const replayed = recover(dir, Date.now(), { repair: false });
  for (const r of [restarted, replayed]) {
    t.deepEqual(r.bindings.map((b) => [b.binding.contact, b.binding.instance, b.binding.regId]), [['sip:grace-0x1@10.0.0.5:5749', 'urn:uuid:44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f', 1]]);
  }
  const location = new LocationService();
  restoreLocation(location, restarted);
  t.deepEqual(location.lookup('grace').bindings.map((b) => b.contact), ['sip:grace-0x1@10.0.0.5:5749']);
  // Keyed by its instance again: the phone's next move replaces it.
  const { plan, ident } = instanceRegister(5751, 3);
  t.true(location.apply(plan, ident).ok);
  t.deepEqual(location.lookup('grace').bindings.map((b) => b.contact), ['sip:grace-0x1@10.0.0.5:5751']);
  t.is(location.bindingCount, 1);
  location.close();
});

test('recovery: a binding whose deadline passed while the proxy was down gets its binding.expired at start, once', (t) => {
  const dir = tempDir(t);
  const now = Date.UTC(2026, 10, 24, 12, 0, 0);
  const b = (contact: string, expiresAt: number) => ({
    type: 'binding.added' as const, aor: 'sip:101@10.0.0.9', user: '101', contact, q: 1, expires: new Date(expiresAt).toISOString(), callId: 'r', cseq: 1, source: '10.0.0.1:5060',
  });
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(b('sip:101@10.0.0.1:5062', now - 1_000), now - 3_600_000);
  w.append(b('sip:101@10.0.0.2:5062', now + 60_000), now - 1_000);
  w.close();
  const first = recover(dir, now);
  t.deepEqual(first.lapsed.map((x) => x.binding.contact), ['sip:101@10.0.0.1:5062']);
  const w2 = new JournalWriter(dir, first.report.lastSeq, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  journalLapsedBindings(w2, first, now);
  w2.close();
  const events: JournalEvent[] = [];
  readJournal(dir, (e) => events.push(e));
  t.like(events[2], { seq: 3, type: 'binding.expired', contact: 'sip:101@10.0.0.1:5062', expires: new Date(now - 1_000).toISOString(), ts: new Date(now).toISOString() });
  const second = recover(dir, now + 1);
  t.deepEqual(second.lapsed, [], 'journaled once: the next start finds it expired');
  t.deepEqual(second.bindings.map((x) => x.binding.contact), ['sip:101@10.0.0.2:5062']);
});

test('recovery: an answered call without its end stays open; replay yields the finished ones', (t) => {
  const dir = tempDir(t);
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: 1 << 20, batchMs: 10 });
  w.append(call('call.ringing', 'a'));
  w.append(call('call.answered', 'a', { toTag: 'tt' }));
  w.append(call('call.ringing', 'b'));
  w.append(call('call.busy', 'b', { status: 486 }));
  w.close();
  const r = recover(dir);
  t.deepEqual(r.finished.map((c) => [c.callId, c.outcome]), [['b', 'busy']]);
  t.like(r.history.openCalls()[0], { callId: 'a', toTag: 'tt' });
});

test('replay reads a journal folder it cannot write without changing it', (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'segment-000001.jsonl'), '{"v":1,"seq":1,"ts":"2026-11-24T10:00:00.000Z","type":"call.ringing","callId":"x","fromTag":"f","from":"sip:a@b","to":"sip:c@b"}\n{"v":1,"seq":2');
  const r = recover(dir, Date.now(), { repair: false });
  t.is(r.tornBytes, 0);
  t.truthy(r.report.tornTail);
  t.is(r.report.events, 1);
  t.true(readFileSync(path.join(dir, 'segment-000001.jsonl'), 'utf8').endsWith('"seq":2'));
});

test('an unterminated last line that parses is torn too: replay reads what a restart keeps', (t) => {
  const line = (seq: number) => `{"v":1,"seq":${seq},"ts":"2026-11-24T10:00:00.000Z","type":"call.ringing","callId":"x${seq}","fromTag":"f","from":"sip:a@b","to":"sip:c@b"}`;
  const replayDir = tempDir(t);
  const restartDir = tempDir(t);
  // The crash came after the JSON and before its newline.
  for (const dir of [replayDir, restartDir]) writeFileSync(path.join(dir, 'segment-000001.jsonl'), `${line(1)}\n${line(2)}`);
  const replayed = recover(replayDir, Date.now(), { repair: false });
  const restarted = recover(restartDir);
  t.is(replayed.report.events, 1);
  t.truthy(replayed.report.tornTail);
  t.is(restarted.report.events, 1);
  t.is(restarted.tornBytes, line(2).length);
  t.deepEqual(replayed.history.openCalls(), restarted.history.openCalls());
});

test('--journal-segment-mb: at most 256, since a segment is read back as one string', (t) => {
  const bytes = (argv: string[]) => {
    const s = parseProxyArgs(argv);
    return s === 'help' ? null : s.segmentBytes;
  };
  t.is(bytes([]), 64 * 1024 * 1024);
  t.is(bytes(['--journal-segment-mb', '256']), 256 * 1024 * 1024);
  t.throws(() => parseProxyArgs(['--journal-segment-mb', '257']), { message: /from 1 to 256/ });
});

/**
 * The journal measurement, run as its own process pinned to the server core (bench/journal.ts
 * starts it): appends per second with fsync 'batch' and 'always' through the real JournalWriter,
 * then the time recover() takes to fold a generated journal of mixed call and binding events.
 * Prints one JSON object (JournalFigures) on stdout.
 *
 *   node dist/bench/journalWorker.js DIR BATCH_EVENTS ALWAYS_MAX_EVENTS ALWAYS_MAX_MS RECOVER_EVENTS
 */
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { JournalWriter } from '../src/journal/writer.js';
import { recover } from '../src/journal/recovery.js';
import { segmentName } from '../src/journal/segments.js';
import type { CallEventBody } from '../src/journal/events.js';

export interface AppendFigures {
  events: number;
  seconds: number;
  perSecond: number;
  bytes: number;
}

export interface RecoverFigures {
  events: number;
  calls: number;
  bindingEvents: number;
  bytes: number;
  segments: number;
  /** Time to write the file (not part of the figure). */
  generateSeconds: number;
  seconds: number;
  eventsPerSecond: number;
  /** What the fold found: finished calls, live bindings, events read. */
  finished: number;
  liveBindings: number;
  read: number;
}

export interface JournalFigures {
  batch: AppendFigures;
  always: AppendFigures;
  recover: RecoverFigures;
  /** The filesystem the journal was written on (bench/journal.ts adds it; fsync on tmpfs is free). */
  filesystem?: string;
}

const SEGMENT_BYTES = 64 * 1024 * 1024;

function dirBytes(dir: string, segments: number): number {
  let total = 0;
  for (let n = 1; n <= segments; n++) {
    try {
      total += statSync(path.join(dir, segmentName(n))).size;
    } catch {
      break;
    }
  }
  return total;
}

function callBody(i: number, type: CallEventBody['type']): CallEventBody {
  return { type, callId: `bench-${i}@127.0.0.1`, fromTag: `t${i}`, from: `sip:${1000 + (i % 9000)}@127.0.0.1`, to: 'sip:callee@127.0.0.1' };
}

const LIFECYCLE: CallEventBody['type'][] = ['call.ringing', 'call.answered', 'call.ended'];

/** `batch`: appends in slices of 500 per event-loop turn (so the 10 ms group commits run), then close(). */
async function appendBatch(dir: string, events: number): Promise<AppendFigures> {
  const w = new JournalWriter(dir, 0, { fsync: 'batch', segmentBytes: SEGMENT_BYTES, batchMs: 10 });
  const t0 = performance.now();
  for (let i = 0; i < events; ) {
    const end = Math.min(events, i + 500);
    for (; i < end; i++) w.append(callBody(Math.floor(i / 3), LIFECYCLE[i % 3]!));
    await nextTurn();
  }
  w.close();
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds, perSecond: events / seconds, bytes: dirBytes(dir, 4) };
}

/** `always`: each append is written and fdatasync'ed before it returns; as many as fit in maxMs. */
function appendAlways(dir: string, maxEvents: number, maxMs: number): AppendFigures {
  const w = new JournalWriter(dir, 0, { fsync: 'always', segmentBytes: SEGMENT_BYTES, batchMs: 10 });
  const t0 = performance.now();
  let i = 0;
  while (i < maxEvents && performance.now() - t0 < maxMs) {
    w.append(callBody(Math.floor(i / 3), LIFECYCLE[i % 3]!));
    i++;
  }
  w.close();
  const seconds = (performance.now() - t0) / 1000;
  return { events: i, seconds, perSecond: i / seconds, bytes: dirBytes(dir, 4) };
}

/**
 * Writes a journal of exactly `total` events straight to segment files: call lifecycles
 * (answered 3 events; declined / cancelled / busy 2; failed 1), 64 calls in flight at a time so
 * that their events interleave, mixed evenly with binding events (added, refreshed, removed,
 * expired) of users registering over and over (each user ends registered).
 */
function generateJournal(dir: string, total: number, calls: number): { calls: number; bindingEvents: number; segments: number; bytes: number } {
  mkdirSync(dir, { recursive: true });
  const outcomes: Array<Array<[CallEventBody['type'], number | undefined]>> = [
    [['call.ringing', undefined], ['call.answered', 200], ['call.ended', undefined]],
    [['call.ringing', undefined], ['call.declined', 603]],
    [['call.ringing', undefined], ['call.cancelled', 487]],
    [['call.ringing', undefined], ['call.busy', 486]],
    [['call.failed', 404]],
  ];
  // 85 % answered, 5 % declined, 4 % cancelled, 3 % busy, 3 % failed.
  const pick = (i: number) => {
    const r = (i * 7919) % 100;
    return r < 85 ? 0 : r < 90 ? 1 : r < 94 ? 2 : r < 97 ? 3 : 4;
  };
  let callEvents = 0;
  for (let i = 0; i < calls; i++) callEvents += outcomes[pick(i)]!.length;
  if (callEvents > total) throw new Error(`${calls} calls make ${callEvents} events, more than ${total}`);
  const bindingEvents = total - callEvents;

  const start = Date.now() - 3600_000;
  const live = Date.now() + 3600_000;
  let seq = 0;
  let segment = 1;
  let fd = openSync(path.join(dir, segmentName(segment)), 'w');
  let size = 0;
  let bytes = 0;
  let chunk: string[] = [];
  let chunkLen = 0;
  const flushChunk = () => {
    const buf = Buffer.from(chunk.join(''), 'utf8');
    writeSync(fd, buf);
    size += buf.length;
    bytes += buf.length;
    chunk = [];
    chunkLen = 0;
    if (size >= SEGMENT_BYTES) {
      closeSync(fd);
      segment++;
      fd = openSync(path.join(dir, segmentName(segment)), 'w');
      size = 0;
    }
  };
  // Lines are built as text (what JSON.stringify of the same object gives), for speed.
  const emit = (fields: string) => {
    seq++;
    const line = `{"v":1,"seq":${seq},"ts":"${new Date(start + seq).toISOString()}",${fields}}\n`;
    chunk.push(line);
    chunkLen += line.length;
    if (chunkLen >= 1 << 20) flushChunk();
  };

  // Calls in flight: each with its outcome and how far along it is.
  const inFlight: Array<{ i: number; step: number }> = [];
  let nextCall = 0;
  let bindingsDone = 0;
  let callsDone = 0;
  const bindingTypes = ['binding.added', 'binding.refreshed', 'binding.removed', 'binding.added', 'binding.expired', 'binding.added'];
  const liveIso = new Date(live).toISOString();
  const pastIso = new Date(start).toISOString();
  for (let n = 0; n < total; n++) {
    // Bresenham: binding events spread evenly among the call events.
    const wantBinding = bindingsDone < Math.floor(((n + 1) * bindingEvents) / total);
    if (wantBinding || (callsDone >= calls && inFlight.length === 0)) {
      const k = bindingsDone++;
      const u = Math.floor(k / bindingTypes.length) % 50_000;
      const user = `u${u}`;
      const host = `10.0.${Math.floor(u / 250) % 250}.${u % 250}`;
      const type = bindingTypes[k % bindingTypes.length]!;
      const expires = type === 'binding.removed' || type === 'binding.expired' ? pastIso : liveIso;
      emit(
        `"type":"${type}","aor":"sip:${user}@127.0.0.1","user":"${user}","contact":"sip:${user}@${host}:5060","q":1,` +
          `"expires":"${expires}","callId":"reg-${user}","cseq":${k + 1},"source":"${host}:5060"`,
      );
      continue;
    }
    while (inFlight.length < 64 && nextCall < calls) inFlight.push({ i: nextCall++, step: 0 });
    const slot = (n * 31) % inFlight.length;
    const c = inFlight[slot]!;
    const steps = outcomes[pick(c.i)]!;
    const [type, status] = steps[c.step]!;
    emit(
      `"type":"${type}","callId":"bench-${c.i}@127.0.0.1","fromTag":"t${c.i}","from":"sip:${1000 + (c.i % 9000)}@127.0.0.1","to":"sip:callee@127.0.0.1"` +
        (status !== undefined ? `,"status":${status}` : '') +
        (type === 'call.answered' ? `,"toTag":"callee-${c.i}"` : ''),
    );
    c.step++;
    if (c.step === steps.length) {
      inFlight.splice(slot, 1);
      callsDone++;
    }
  }
  flushChunk();
  closeSync(fd);
  return { calls, bindingEvents, segments: segment, bytes };
}

async function main(): Promise<void> {
  const [dir, batchEvents, alwaysMax, alwaysMs, recoverEvents] = process.argv.slice(2);
  if (!dir) throw new Error('usage: journalWorker DIR BATCH_EVENTS ALWAYS_MAX_EVENTS ALWAYS_MAX_MS RECOVER_EVENTS');
  const batch = await appendBatch(path.join(dir, 'batch'), Number(batchEvents));
  const always = appendAlways(path.join(dir, 'always'), Number(alwaysMax), Number(alwaysMs));
  const total = Number(recoverEvents);
  const calls = Math.round(total / 4);
  const g0 = performance.now();
  const gen = generateJournal(path.join(dir, 'recover'), total, calls);
  const generateSeconds = (performance.now() - g0) / 1000;
  const r0 = performance.now();
  const r = recover(path.join(dir, 'recover'));
  const seconds = (performance.now() - r0) / 1000;
  const figures: JournalFigures = {
    batch,
    always,
    recover: {
      events: total, calls: gen.calls, bindingEvents: gen.bindingEvents, bytes: gen.bytes, segments: gen.segments,
      generateSeconds, seconds, eventsPerSecond: total / seconds,
      finished: r.finished.length, liveBindings: r.bindings.length, read: r.report.events,
    },
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`journal worker: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

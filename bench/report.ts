/**
 * The results of one run, as a table on the terminal and as the generated part of BENCHMARKS.md
 * (between <!-- bench:begin --> and <!-- bench:end -->; everything outside the markers, such as
 * the "## Profile findings" section, is kept as it is).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Environment } from './environment.js';
import type { Options } from './options.js';
import type { RegisterResult } from './registerRate.js';
import { cpuPerCall, highestCommonPass, type CallResult, type CallStep } from './callRate.js';
import type { LatencyResult } from './latency.js';
import type { MemoryResult } from './memoryUse.js';
import type { MemorySample } from './memory.js';
import type { JournalFigures } from './journalWorker.js';
import type { SteadyResult } from './steady.js';
import type { CoresResult } from './cores.js';
import type { Summary } from './percentiles.js';
import type { ServerName } from './server.js';
import { DEFAULT_ENGINE } from '../src/actors/leanInterpreter.js';

export interface Results {
  env: Environment;
  command: string;
  options: Options;
  sysctls: Record<string, number>;
  /** The effective receive buffer of each server's socket (ss: rb), bytes. */
  receiveBuffers: Partial<Record<ServerName, number | null>>;
  serverCommands: Partial<Record<ServerName, string>>;
  register: Partial<Record<ServerName, RegisterResult>>;
  calls: Partial<Record<ServerName, CallResult>>;
  /** The caller straight at the callee, at the rate where Kamailio failed (is SIPp the limit?). */
  sippCeiling: CallStep | null;
  latency: LatencyResult[];
  latencyRate: number | null;
  /** The time-inside-the-proxy runs at hopRate. */
  hop: LatencyResult[];
  hopRate: number | null;
  memory: Partial<Record<ServerName, MemoryResult>>;
  journal: JournalFigures | null;
  steady: SteadyResult | null;
  cores: CoresResult | null;
  /** The tail run: time inside each proxy at hopRate once it has carried that load a while. */
  tail: LatencyResult[];
  errors: string[];
  seconds: number;
}

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';
export interface Markers {
  begin: string;
  end: string;
}
export const BENCH_MARKERS: Markers = { begin: BEGIN, end: END };
export const STEADY_MARKERS: Markers = { begin: '<!-- steady:begin -->', end: '<!-- steady:end -->' };
export const CORES_MARKERS: Markers = { begin: '<!-- cores:begin -->', end: '<!-- cores:end -->' };
/**
 * A run with another interpreter than the default (`--engine lean`) has a part of its own, right
 * after the main one, so that both are on record from the harness and neither overwrites the other.
 */
export function engineMarkers(engine: string): Markers {
  return { begin: `<!-- bench:engine=${engine}:begin -->`, end: `<!-- bench:engine=${engine}:end -->` };
}

// ---------- formatting ----------

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const fixed = (n: number, d: number) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
export const ms = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : n < 10 ? `${fixed(n, 2)} ms` : `${fixed(n, 1)} ms`);
const bytes = (n: number | null | undefined) => {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  const a = Math.abs(n);
  if (a >= 2 ** 20) return `${fixed(n / 2 ** 20, 1)} MiB`;
  if (a >= 2 ** 10) return `${fixed(n / 2 ** 10, 1)} KiB`;
  return `${int(n)} B`;
};

export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return 'n/a';
  if (b <= 0 || a < 0) return 'n/a';
  const r = a / b;
  return r >= 10 ? fixed(r, 1) : r >= 0.1 ? fixed(r, 2) : fixed(r, 3);
}

/** "2,500", "≥ 40,000 (SIPp limit)", "< 250" or "not run". */
export function maxText(r: RegisterResult | CallResult | undefined, unit: string): string {
  if (!r || !r.steps.length) return 'not run';
  if (r.max === null) return `< ${int(Math.min(...r.steps.map((s) => s.rate)))}${unit} (every step failed)`;
  if (r.stoppedBySipp) return `≥ ${int(r.max)}${unit} (SIPp limit)`;
  // A bound only when nothing failed: after a bisection the last step tried passes below a failure.
  if (r.steps.every((s) => s.ok)) return `≥ ${int(r.max)}${unit} (all steps passed)`;
  return `${int(r.max)}${unit}`;
}

interface Row {
  label: string;
  sipstate: string;
  kamailio: string;
  ratio: string;
  extra?: string;
}

function perUnit(after: number | undefined, before: number | undefined, n: number): number | null {
  if (after === undefined || before === undefined || n <= 0) return null;
  return (after - before) / n;
}

export function latencyOf(results: LatencyResult[], target: LatencyResult['target']): LatencyResult | undefined {
  return results.find((r) => r.target === target);
}

/** Time inside each proxy (packet in -> packet out), INVITE and 200 OK, p50 and p99. */
function insideRows(s: LatencyResult | undefined, k: LatencyResult | undefined, at: string, extra: string): Row[] {
  const rows: Row[] = [];
  for (const [label, key] of [['time inside the proxy, INVITE', 'hopInvite'], ['time inside the proxy, 200 OK', 'hop200']] as const) {
    for (const p of ['p50', 'p99'] as const) {
      const sv = s?.wire?.[key][p];
      const kv = k?.wire?.[key][p];
      rows.push({ label: `${label} ${p} ${at}`, sipstate: ms(sv), kamailio: ms(kv), ratio: ratio(sv, kv), extra });
    }
  }
  return rows;
}

/**
 * The server's CPU time per completed call at the highest rate both servers passed: the cost of
 * a call, whatever the rate at which each one gives out.
 */
function cpuPerCallRow(r: Results): Row {
  const common = highestCommonPass(r.calls.sipstate, r.calls.kamailio);
  const rate = common?.rate;
  const sv = common ? cpuPerCall(common.a) ?? undefined : undefined;
  const kv = common ? cpuPerCall(common.b) ?? undefined : undefined;
  const us = (v: number | undefined) => (v === undefined ? 'n/a' : `${int(Math.round(v))} µs`);
  return {
    label: rate === undefined ? 'server CPU per call' : `server CPU per call at ${int(rate)} cps`,
    sipstate: us(sv),
    kamailio: us(kv),
    ratio: ratio(sv, kv),
    extra: 'CPU time / completed calls, highest step both passed',
  };
}

/** The summary rows: every figure with sipstate / Kamailio. */
export function summaryRows(r: Results): Row[] {
  const rows: Row[] = [];
  const reg = r.register;
  rows.push({
    label: 'REGISTER/s, highest with 0 failures',
    sipstate: maxText(reg.sipstate, '/s'),
    kamailio: maxText(reg.kamailio, '/s'),
    ratio: ratio(reg.sipstate?.max, reg.kamailio?.max),
  });
  rows.push({
    label: 'calls/s, highest with < 0.1 % failed',
    sipstate: maxText(r.calls.sipstate, ' cps'),
    kamailio: maxText(r.calls.kamailio, ' cps'),
    ratio: ratio(r.calls.sipstate?.max, r.calls.kamailio?.max),
  });
  rows.push(cpuPerCallRow(r));
  if (r.latency.length) {
    const s = latencyOf(r.latency, 'sipstate');
    const k = latencyOf(r.latency, 'kamailio');
    const d = latencyOf(r.latency, 'direct');
    const at = `at ${int(r.latencyRate ?? 0)} cps`;
    const add = (label: string, get: (l: LatencyResult) => Summary | undefined, p: 'p50' | 'p99') => {
      const sv = s ? get(s)?.[p] : undefined;
      const kv = k ? get(k)?.[p] : undefined;
      const dv = d ? get(d)?.[p] : undefined;
      rows.push({ label: `${label} ${p} ${at}`, sipstate: ms(sv), kamailio: ms(kv), ratio: ratio(sv, kv), extra: `floor ${ms(dv)}` });
    };
    for (const [label, key] of [['INVITE→180 (wire)', 'inv180'], ['INVITE→200 (wire)', 'inv200']] as const) {
      add(label, (l) => l.wire?.[key], 'p50');
      add(label, (l) => l.wire?.[key], 'p99');
    }
    for (const [label, key] of [['INVITE→180 (SIPp rtd)', 'inv180'], ['INVITE→200 (SIPp rtd)', 'inv200']] as const) {
      add(label, (l) => l.sipp[key], 'p50');
      add(label, (l) => l.sipp[key], 'p99');
    }
    const failed = (l?: LatencyResult) => (l ? `${int(l.failed)} of ${int(l.planned)}` : 'n/a');
    rows.push({ label: `failed calls in the latency run ${at}`, sipstate: failed(s), kamailio: failed(k), ratio: 'n/a', extra: `floor ${failed(d)}` });
    rows.push(...insideRows(s, k, at, 'packet in → packet out'));
  }
  if (r.hop.length) {
    const s = latencyOf(r.hop, 'sipstate');
    const k = latencyOf(r.hop, 'kamailio');
    rows.push(...insideRows(s, k, `at ${int(r.hopRate ?? 0)} cps`, `${s ? int(s.failed) : 'n/a'} / ${k ? int(k.failed) : 'n/a'} failed calls`));
  }
  const m = r.memory;
  if (m.sipstate || m.kamailio) {
    const idle = (x?: MemoryResult) => x?.idle.rssBytes;
    rows.push({ label: 'RSS idle', sipstate: bytes(idle(m.sipstate)), kamailio: bytes(idle(m.kamailio)), ratio: ratio(idle(m.sipstate), idle(m.kamailio)), extra: 'Kamailio: all its processes' });
    const bindRss = (x?: MemoryResult) => (x ? perUnit(x.afterRegister.rssBytes, x.idle.rssBytes, x.registered) : null);
    const bindPss = (x?: MemoryResult) => (x ? perUnit(x.afterRegister.pssBytes, x.idle.pssBytes, x.registered) : null);
    const users = int(m.sipstate?.users ?? m.kamailio?.users ?? 0);
    rows.push({ label: `RSS per binding (${users} users)`, sipstate: bytes(bindRss(m.sipstate)), kamailio: bytes(bindRss(m.kamailio)), ratio: NOT_COMPARABLE, extra: RSS_NOTE });
    rows.push({ label: `PSS per binding (${users} users)`, sipstate: bytes(bindPss(m.sipstate)), kamailio: bytes(bindPss(m.kamailio)), ratio: NOT_COMPARABLE, extra: RSS_NOTE });
    // What the allocator holds: sipstate's V8 heap after a full GC, Kamailio's shm in use.
    const held = (x: MemorySample | undefined) => x?.heapUsedBytes ?? x?.shmUsedBytes;
    const heldBind = (x?: MemoryResult) => (x ? perUnit(held(x.afterRegister), held(x.idle), x.registered) : null);
    rows.push({ label: 'heap (sipstate, after GC) / shm (Kamailio) per binding', sipstate: bytes(heldBind(m.sipstate)), kamailio: bytes(heldBind(m.kamailio)), ratio: ratio(heldBind(m.sipstate), heldBind(m.kamailio)) });
    const calls = int(m.sipstate?.callsPlanned ?? m.kamailio?.callsPlanned ?? 0);
    const peak = (x?: MemoryResult) => (x ? perUnit(x.callsPeak.rssBytes, x.beforeCalls.rssBytes, x.answered) : null);
    const settled = (x?: MemoryResult) => (x ? perUnit(x.callsSettled.rssBytes, x.beforeCalls.rssBytes, x.answered) : null);
    rows.push({ label: `RSS per held call, transactions alive (${calls} calls)`, sipstate: bytes(peak(m.sipstate)), kamailio: bytes(peak(m.kamailio)), ratio: NOT_COMPARABLE, extra: RSS_NOTE });
    rows.push({ label: `RSS per held call, transactions ended (${calls} calls)`, sipstate: bytes(settled(m.sipstate)), kamailio: bytes(settled(m.kamailio)), ratio: NOT_COMPARABLE, extra: RSS_NOTE });
    const heldPeak = (x?: MemoryResult) => (x ? perUnit(held(x.callsPeak), held(x.beforeCalls), x.answered) : null);
    const heldSettled = (x?: MemoryResult) => (x ? perUnit(held(x.callsSettled), held(x.beforeCalls), x.answered) : null);
    rows.push({ label: 'heap / shm per held call, transactions alive', sipstate: bytes(heldPeak(m.sipstate)), kamailio: bytes(heldPeak(m.kamailio)), ratio: ratio(heldPeak(m.sipstate), heldPeak(m.kamailio)) });
    rows.push({ label: 'heap / shm per held call, transactions ended', sipstate: bytes(heldSettled(m.sipstate)), kamailio: bytes(heldSettled(m.kamailio)), ratio: NOT_COMPARABLE, extra: 'Kamailio keeps no dialog state once its transactions end; sipstate keeps each call' });
  }
  if (r.journal) {
    const j = r.journal;
    rows.push({ label: "journal appends/s, fsync 'batch'", sipstate: int(j.batch.perSecond), kamailio: 'n/a', ratio: 'n/a', extra: `${int(j.batch.events)} events` });
    rows.push({ label: "journal appends/s, fsync 'always'", sipstate: int(j.always.perSecond), kamailio: 'n/a', ratio: 'n/a', extra: `${int(j.always.events)} events` });
    rows.push({
      label: `recover() of ${int(j.recover.events)} events`,
      sipstate: `${fixed(j.recover.seconds, 2)} s`,
      kamailio: 'n/a',
      ratio: 'n/a',
      extra: `${int(j.recover.eventsPerSecond)} events/s`,
    });
  }
  return rows;
}

/** The summary as a plain-text table for the terminal. */
export function terminalTable(r: Results): string {
  const rows = summaryRows(r);
  const head: Row = { label: 'figure', sipstate: 'sipstate', kamailio: 'Kamailio', ratio: 'sipstate/Kamailio', extra: '' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((x) => (x[k] ?? '').length));
  const line = (x: Row) =>
    `${x.label.padEnd(w('label'))}  ${x.sipstate.padStart(w('sipstate'))}  ${x.kamailio.padStart(w('kamailio'))}  ${x.ratio.padStart(w('ratio'))}  ${x.extra ?? ''}`.trimEnd();
  const sep = '-'.repeat(w('label') + w('sipstate') + w('kamailio') + w('ratio') + 8);
  return [line(head), sep, ...rows.map(line)].join('\n');
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

export function mdTable(head: string[], rows: string[][], align?: string[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? ':---' : '---:'));
  return [`| ${head.map(mdEscape).join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`)].join('\n');
}

/** The ratio column where the two figures measure different things (the row's note says what). */
const NOT_COMPARABLE = 'not comparable';
const RSS_NOTE = "Kamailio's RSS counts the pages of its preallocated shm as its allocator first touches them: compare the heap / shm rows instead";

/** What the "server CPU" column of the rate tables is (bench/loadWindowCpu.ts). */
const SERVER_CPU_NOTE =
  'Server CPU: the server\'s share of one core while SIPp offered the load (not over SIPp\'s whole run, which in a failing step includes its timeouts).';

function registerDetails(r: Results): string {
  const rows: string[][] = [];
  for (const name of ['sipstate', 'kamailio'] as const) {
    for (const s of r.register[name]?.steps ?? []) {
      rows.push([
        name, int(s.rate), s.offered !== null ? int(s.offered) : 'n/a', `${int(s.successful)} / ${int(s.planned)}`, int(s.failed),
        int(s.retransmissions), int(s.rcvbufErrors), int(s.serverDrops), `${int(s.serverCpu * 100)} %`,
        s.bindingsAfter !== null ? int(s.bindingsAfter) : 'n/a', s.ok ? (s.sippLimited ? 'pass (SIPp limit)' : 'pass') : 'FAIL',
      ]);
    }
  }
  if (!rows.length) return '';
  return [
    '### REGISTER rate, step by step',
    '',
    `A fresh server for each step; one SIPp (\`bench/sipp/register.xml\`) registers \`rate\` distinct users a second for ${r.options.registerSeconds} s. ` +
      'A REGISTER fails when no 200 arrives within 8 s (retransmitted every 500 ms, doubling) or anything else comes back. ' +
      'RcvbufErrors: kernel-wide UDP receive-buffer drops during the step (/proc/net/snmp); server drops: those of the server\'s socket (/proc/net/udp). ' +
      SERVER_CPU_NOTE,
    '',
    mdTable(['server', 'rate/s', 'offered/s', 'registered', 'failed', 'retrans', 'RcvbufErrors', 'server drops', 'server CPU', 'bindings', 'result'], rows),
    '',
  ].join('\n');
}

function callDetails(r: Results): string {
  const rows: string[][] = [];
  const steps: Array<[string, CallStep]> = [];
  for (const name of ['sipstate', 'kamailio'] as const) for (const s of r.calls[name]?.steps ?? []) steps.push([name, s]);
  if (r.sippCeiling) steps.push(['SIPp→SIPp (no proxy)', r.sippCeiling]);
  for (const [name, s] of steps) {
    const why = Object.entries(s.failures).map(([k, v]) => `${k} ${int(v)}`).join(', ');
    rows.push([
      name, int(s.rate), s.offered !== null ? int(s.offered) : 'n/a', `${int(s.successful)} / ${int(s.planned)}`,
      `${int(s.failed)} (${fixed(s.failedRatio * 100, 2)} %)${why ? ` ${why}` : ''}`, int(s.retransmissions), int(s.rcvbufErrors),
      int(s.serverDrops), int(s.calleeDrops), name.startsWith('SIPp') ? 'n/a' : `${int(s.serverCpu * 100)} %`,
      s.ok ? (s.sippLimited ? 'pass (SIPp limit)' : 'pass') : 'FAIL',
    ]);
  }
  if (!rows.length) return '';
  return [
    '### Call rate, step by step',
    '',
    `A fresh server for each step, the callee SIPp (\`bench/sipp/uas.xml\`) registered with it, and a caller SIPp (\`bench/sipp/uac.xml\`) making \`rate\` calls a second for ${r.options.stepSeconds} s: ` +
      'INVITE, 100 and 180 in any order, 200 with Record-Route, ACK through the route set, 100 ms, BYE, 200. ' +
      'A call fails when a response does not come within 8 s (requests retransmitted every 500 ms, doubling) or an unexpected message arrives; ' +
      'a step passes below 0.1 % failed calls, and is stopped as soon as SIPp has counted more failed calls than that. ' +
      'Rates in the order tried (bench/rateSearch.ts): the steps while the server passes, more above the last while it still passes, lower ones if the first fails, then one halfway between its highest pass and lowest failure; at most seven steps a server.' +
      (r.sippCeiling ? ' The last row runs the caller straight at the callee at the rate Kamailio failed: what SIPp itself sustains on the load core.' : '') +
      ` ${SERVER_CPU_NOTE}`,
    '',
    mdTable(['server', 'rate', 'offered', 'completed', 'failed', 'retrans', 'RcvbufErrors', 'server drops', 'callee drops', 'server CPU', 'result'], rows),
    '',
  ].join('\n');
}

function latencyDetails(r: Results): string {
  if (!r.latency.length) return '';
  const rows = r.latency.map((l) => {
    const name = l.target === 'direct' ? 'SIPp→SIPp (no proxy)' : l.target;
    const w = l.wire;
    return [
      name, `${int(l.successful)} / ${int(l.planned)}`,
      ms(w?.inv180.p50), ms(w?.inv180.p99), ms(w?.inv200.p50), ms(w?.inv200.p99),
      l.target === 'direct' ? '—' : `${ms(w?.hopInvite.p50)} / ${ms(w?.hopInvite.p99)}`,
      ms(l.sipp.inv180.p50), ms(l.sipp.inv180.p99), ms(l.sipp.inv200.p50), ms(l.sipp.inv200.p99),
    ];
  });
  const notes = r.latency.filter((l) => l.wireNote).map((l) => `- ${l.target}: ${l.wireNote}`);
  return [
    `### Latency at ${int(r.latencyRate ?? 0)} calls/s`,
    '',
    `${r.options.latencySeconds} s of calls at ${latencyRateReason(r)}, through each proxy and straight from caller to callee (the floor). ` +
      overloadNote(r) +
      '"wire": from a dumpcap capture of the caller\'s and the proxy\'s ports on lo (kernel timestamps), first INVITE to first 180 / 200 the caller got; ' +
      '"inside": the first INVITE into the proxy to the first INVITE out of it. ' +
      '"SIPp rtd": SIPp\'s own timers (`start_rtd`/`rtd`, `-trace_rtt -rtt_freq 1`), which read SIPp\'s loop clock: it advances in coarse steps (about 4 ms on the machine this was written on), so these come in multiples of its step.',
    '',
    mdTable(['path', 'completed', '180 p50 (wire)', '180 p99 (wire)', '200 p50 (wire)', '200 p99 (wire)', 'INVITE inside p50 / p99', '180 p50 (rtd)', '180 p99 (rtd)', '200 p50 (rtd)', '200 p99 (rtd)'], rows),
    ...(notes.length ? ['', ...notes] : []),
    '',
  ].join('\n');
}

/** How the latency run's rate was chosen (bench/run.ts). */
function latencyRateReason(r: Results): string {
  if (r.options.latencyRate !== null) return `the rate asked for (\`--latency-rate ${r.options.latencyRate}\`)`;
  if (r.calls.kamailio?.max) return "half of Kamailio's highest passing call rate";
  return "500 calls/s (Kamailio's call rate was not measured in this run)";
}

/** At or above a server's own highest passing rate its latency is mostly its queue: say so. */
function overloadNote(r: Results): string {
  const rate = r.latencyRate ?? 0;
  return (['sipstate', 'kamailio'] as const)
    .map((n) => {
      const max = r.calls[n]?.max;
      if (max === null || max === undefined || rate < max) return '';
      const where = rate > max ? 'above' : 'at';
      return `This rate is ${where} ${n}'s own highest passing call rate (${int(max)} cps), so its figures here are mostly time queued in a proxy at or past its limit. `;
    })
    .join('');
}

function memoryDetails(r: Results): string {
  const rows: string[][] = [];
  for (const name of ['sipstate', 'kamailio'] as const) {
    const m = r.memory[name];
    if (!m) continue;
    const first = (x: MemorySample) => (x.firstRssBytes !== undefined && bytes(x.firstRssBytes) !== bytes(x.rssBytes) ? ` (RSS at once ${bytes(x.firstRssBytes)})` : '');
    const f = (x: MemorySample) =>
      `${bytes(x.rssBytes)} / ${bytes(x.pssBytes)}${x.shmUsedBytes !== undefined ? ` / ${bytes(x.shmUsedBytes)}` : ''}${x.heapUsedBytes !== undefined ? ` / ${bytes(x.heapUsedBytes)}` : ''}${first(x)}`;
    rows.push([
      name, f(m.idle), `${f(m.afterRegister)} (${int(m.registered)} users, ${m.bindings ?? 'n/a'} bindings)`,
      f(m.beforeCalls), `${f(m.callsPeak)} (${int(m.answered)} calls, ${m.transactionsAtPeak ?? 'n/a'} transactions)`,
      `${f(m.callsSettled)} (${m.transactionsSettled ?? 'n/a'} transactions, ${fixed(m.settleSeconds, 0)} s later)`,
    ]);
  }
  if (!rows.length) return '';
  const notes = (['sipstate', 'kamailio'] as const).flatMap((n) => (r.memory[n]?.notes ?? []).map((x) => `- ${n}: ${x}`));
  const m = r.memory.sipstate ?? r.memory.kamailio!;
  return [
    '### Memory',
    '',
    `RSS / PSS summed over the server's processes (Kamailio: all ${r.memory.kamailio?.idle.processes ?? 'its'} processes; shared memory counts in the RSS of every process that touched it, once in the PSS) ` +
      '/ Kamailio\'s shm in use (`kamcmd core.shmmem` real_used) or sipstate\'s V8 heap in use after a full GC (`GET /status?gc=1`, node --expose-gc). ' +
      `Registrations: ${int(m.users)} distinct users; calls: ${int(m.callsPlanned)} answered calls held open (\`bench/sipp/uac-hold.xml\`), ` +
      'bindings sampled once the REGISTER transactions were gone; calls sampled once all were answered (their INVITE transactions still alive) and again when the server had no transaction left ' +
      '(sipstate keeps them 64×T1 = 32 s after the 2xx, RFC 6026; Kamailio\'s tm its wait timer, 5 s by default). ' +
      'Each sample is taken again every 500 ms until the RSS stops moving (two in a row within 256 KiB, at most 6 s): V8 returns the pages a full GC freed over the next second or so, ' +
      'so the first sample still counts garbage ("RSS at once" where it differed). Per binding = (after − idle) / users; per call = (with calls − before calls) / answered calls.',
    '',
    mdTable(['server', 'idle', 'users registered', 'before calls', 'calls answered', 'transactions ended'], rows),
    '',
    ...(['sipstate', 'kamailio'] as const)
      .filter((n) => r.memory[n])
      .map((n) => `- ${n}: REGISTER at ${int(r.memory[n]!.registerRate)}/s, calls at ${int(r.memory[n]!.callRate)} cps`),
    ...notes,
    '',
  ].join('\n');
}

function journalDetails(r: Results): string {
  const j = r.journal;
  if (!j) return '';
  return [
    '### Journal',
    '',
    'The compiled `JournalWriter` (`dist/src/journal/writer.js`, 64 MiB segments, batchMs 10) in a process of its own on the server core, appending call events ' +
      "(`{ type: 'call.ringing' | 'call.answered' | 'call.ended', callId, fromTag, from, to }`): with fsync 'batch' in slices of 500 per event-loop turn until `close()`, " +
      "with fsync 'always' (each append written and fdatasync'ed) as many as fit in " + `${fixed(r.options.journalAlwaysMaxMs / 1000, 0)} s. ` +
      '`recover()` (`dist/src/journal/recovery.js`) then folds a journal written straight to its segment files, just after writing them (its pages still cached). Kamailio has no journal.' +
      (j.filesystem ? ` Written on ${j.filesystem}.` : ''),
    '',
    mdTable(
      ['measurement', 'events', 'time', 'rate', 'bytes'],
      [
        ["append, fsync 'batch'", int(j.batch.events), `${fixed(j.batch.seconds, 2)} s`, `${int(j.batch.perSecond)} events/s`, bytes(j.batch.bytes)],
        ["append, fsync 'always'", int(j.always.events), `${fixed(j.always.seconds, 2)} s`, `${int(j.always.perSecond)} events/s`, bytes(j.always.bytes)],
        [
          `recover(): ${int(j.recover.calls)} calls + ${int(j.recover.bindingEvents)} binding events, ${j.recover.segments} segments`,
          int(j.recover.events), `${fixed(j.recover.seconds, 2)} s`, `${int(j.recover.eventsPerSecond)} events/s`, bytes(j.recover.bytes),
        ],
      ],
    ),
    '',
    `recover() found ${int(j.recover.finished)} finished calls and ${int(j.recover.liveBindings)} live bindings in ${int(j.recover.read)} events (writing the file took ${fixed(j.recover.generateSeconds, 1)} s, not counted).`,
    '',
  ].join('\n');
}

/** The first line of a run's own part of BENCHMARKS.md (steady, cores, tail): what made it, where, and its markers. */
export function partHeader(r: Results, part: string): string {
  const e = r.env;
  return `_Generated by \`${r.command}\` on ${e.date} (${fixed(r.seconds / 60, 1)} min); ${e.cpuModel}, ${e.cores} cores; Node ${e.node}; sipstate git ${e.gitCommit}. ` +
    `Everything between the \`${part}:begin\` / \`${part}:end\` markers is rewritten by each run._`;
}

/** The steady run's own part of BENCHMARKS.md (npm run bench:steady). */
export function steadyMarkdown(r: Results): string {
  const st = r.steady;
  return [
    partHeader(r, 'steady'),
    '',
    st && st.slopePerMinute !== null
      ? `**RSS growth after the first minute: ${bytes(st.slopePerMinute)} per minute** (${bytes(st.afterOneMinute)} at one minute, ${bytes(st.atEnd)} at the end; ${rssRange(st.samples)} after the first minute).` +
        heldLine(st.samples)
      : 'The steady run did not complete: see the errors below.',
    '',
    steadyDetails(r).replace('### Steady run', '').trim(),
    ...(r.errors.length ? ['', ...r.errors.map((x) => `- Error: ${x}`)] : []),
  ].join('\n');
}

/** The cores run's own part of BENCHMARKS.md (npm run bench:cores). */
export function coresMarkdown(r: Results): string {
  const c = r.cores;
  const head = partHeader(r, 'cores');
  if (!c) return [head, '', 'The cores run did not complete: see the errors below.', ...r.errors.map((x) => `- Error: ${x}`)].join('\n');
  const o = r.options;
  const max = (x: CallResult) => maxText(x, ' cps');
  // When every step of the workers passed, their highest rate and so the speed-up are bounds.
  const bound = c.cluster.steps.every((s) => s.ok) ? '≥ ' : '';
  const ratio = c.single.max && c.cluster.max ? `${bound}${fixed(c.cluster.max / c.single.max, 2)}` : 'n/a';
  // CPU per call at the highest step both passed: what the extra hops cost.
  const both = highestCommonPass(c.single, c.cluster);
  const common = both?.rate ?? null;
  const cpuText = (s: CallStep | undefined) => {
    const v = s ? cpuPerCall(s) : null;
    return v === null ? 'n/a' : `${int(v)} µs`;
  };
  const rows = (label: string, x: CallResult) =>
    x.steps.map((s) => [label, int(s.rate), `${int(s.successful)} / ${int(s.planned)}`, `${int(s.failed)} (${fixed(s.failedRatio * 100, 2)} %)`, int(s.retransmissions), int(s.rcvbufErrors), `${fixed(s.serverCpu * 100, 0)} %`, cpuText(s), s.ok ? 'pass' : 'FAIL']);
  return [
    head,
    '',
    `**Highest call rate with < 0.1 % failed calls: one process ${max(c.single)}, \`--workers ${c.workers}\` ${max(c.cluster)}: ${ratio} ×.** ` +
      (common !== null ? `CPU per call at ${int(common)} cps, the highest step both passed: ${cpuText(both?.a)} in one process, ${cpuText(both?.b)} over the workers and the primary.` : ''),
    '',
    `The call-rate steps of the main run (\`bench/sipp/uac.xml\`, ${o.stepSeconds} s a step, a fresh server each step, the rates searched as in the main run): ` +
      `sipstate as one process pinned to core ${o.serverCpu}, then \`--workers ${c.workers}\` with its primary and workers on cores ${c.cpuList}. ` +
      `SIPp (caller and callee) runs on core ${o.loadCpu}${c.cpuList.includes(String(o.loadCpu)) ? ', so on this machine the workers share a core with the load generator' : ''}. ` +
      'Server CPU is the whole process group (primary and workers) while the load was offered, as a share of one core; CPU per call is its CPU over the whole step by the completed calls.',
    '',
    mdTable(
      ['sipstate', 'rate', 'completed', 'failed', 'retrans', 'RcvbufErrors', 'server CPU', 'CPU per call', 'result'],
      [...rows('one process', c.single), ...rows(`--workers ${c.workers}`, c.cluster)],
      [':---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    ...(r.errors.length ? ['', ...r.errors.map((x) => `- Error: ${x}`)] : []),
    '',
  ].join('\n');
}

/** "155.5–249.0 MiB": the lowest and highest RSS sampled after the first minute. */
function rssRange(samples: SteadyResult['samples']): string {
  const r = samples.filter((x) => x.at >= 60).map((x) => x.rssBytes);
  return r.length ? `${bytes(Math.min(...r))}–${bytes(Math.max(...r))}` : 'no samples';
}

/** The once-a-minute heap after a full collection, as one sentence. */
function heldLine(samples: SteadyResult['samples']): string {
  const held = samples.filter((x) => x.heapAfterGcBytes !== undefined);
  return held.length ? ` **Heap after a full GC, once a minute: ${held.map((x) => `${bytes(x.heapAfterGcBytes)} at ${x.at} s`).join(', ')}.**` : '';
}

function steadyDetails(r: Results): string {
  const st = r.steady;
  if (!st) return '';
  const why = Object.entries(st.failures).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    '### Steady run',
    '',
    `sipstate alone, a fresh process carrying ${int(st.rate)} calls/s (\`bench/sipp/uac.xml\`) for ${int(st.seconds)} s: ` +
      `${int(st.successful)} of ${int(st.planned)} calls completed${why ? ` (failed: ${why})` : ''}. RSS every 10 s, and once a minute the heap right after a full GC; transactions linger 64×T1 = 32 s, ` +
      'so what is alive levels off within the first minute. RSS rises and falls with V8\'s collections: the heap grows to about four times what is alive ' +
      'before V8 collects (src/util/heapTuning.ts), or until the once-a-minute reading collects it; the slope, a least-squares fit over the samples ' +
      'after the first minute, depends on where in that cycle the run ends, and the heap after a full GC is what tells a leak.',
    '',
    mdTable(
      ['seconds', 'RSS', 'transactions alive', 'heap after a full GC'],
      st.samples.map((x) => [String(x.at), bytes(x.rssBytes), x.transactions === null ? 'n/a' : int(x.transactions), x.heapAfterGcBytes === undefined ? '' : bytes(x.heapAfterGcBytes)]),
      ['---:', '---:', '---:', '---:'],
    ),
    '',
  ].join('\n');
}

function caveats(r: Results): string[] {
  const out: string[] = [];
  const limited = (['sipstate', 'kamailio'] as const).filter((n) => r.register[n]?.stoppedBySipp || r.calls[n]?.stoppedBySipp);
  if (limited.length) out.push(`SIPp could not offer the next rate for ${limited.join(' and ')}: that figure is a lower bound set by the load generator (one SIPp process on one core).`);
  const wd = (['sipstate', 'kamailio'] as const).flatMap((n) => [...(r.register[n]?.steps ?? []), ...(r.calls[n]?.steps ?? [])].filter((s) => s.sippWatchdog > 0).map((s) => `${n} ${s.rate}`));
  if (wd.length) out.push(`SIPp's watchdog tripped (its own loop ran late: SIPp busy) in: ${wd.join(', ')}.`);
  if (r.sippCeiling) {
    const c = r.sippCeiling;
    out.push(
      c.ok
        ? `SIPp alone (caller straight to callee, both on core ${r.options.loadCpu}) completed ${fixed((1 - c.failedRatio) * 100, 2)} % of ${int(c.rate)} cps, the rate at which Kamailio failed: Kamailio's limit is its own, not SIPp's.`
        : `SIPp alone (caller straight to callee) failed ${fixed(c.failedRatio * 100, 2)} % of calls at ${int(c.rate)} cps: at that rate the load generator itself is at its limit, so the highest passing rates near it are bounded by SIPp.`,
    );
  }
  if (r.errors.length) out.push(...r.errors.map((e) => `Error: ${e}`));
  return out;
}

/** The generated part of BENCHMARKS.md (without the markers). */
export function markdown(r: Results): string {
  const e = r.env;
  const o = r.options;
  const buf = (n: ServerName) => (r.receiveBuffers[n] ? bytes(r.receiveBuffers[n]!) : 'n/a');
  const rows = summaryRows(r).map((x) => [x.label, x.sipstate, x.kamailio, x.ratio, x.extra ?? '']);
  const notes = caveats(r);
  const other = o.engine !== DEFAULT_ENGINE;
  const markers = other ? engineMarkers(o.engine) : BENCH_MARKERS;
  const begin = markers.begin.replace(/^<!-- | -->$/g, '');
  const end = markers.end.replace(/^<!-- | -->$/g, '');
  return [
    ...(other ? [`## With \`--engine ${o.engine}\``, ''] : []),
    `_Generated by the benchmark harness (\`bench/run.ts\`) on ${e.date}${o.quick ? ' — a **--quick** smoke run: short steps, figures not comparable to a full run' : ''}. ` +
      `Everything between the \`${begin}\` / \`${end}\` markers is rewritten by each run${other ? ` with \`--engine ${o.engine}\`` : ` with the default interpreter (${DEFAULT_ENGINE})`}._`,
    '',
    '### Setup',
    '',
    `- Command: \`${r.command}\` (${fixed(r.seconds / 60, 1)} min)`,
    `- CPU: ${e.cpuModel}, ${e.cores} cores, ${e.memoryGiB} GiB; ${e.kernel}`,
    `- Node ${e.node}; sipstate ${e.sipstateVersion} (git ${e.gitCommit}); ${e.kamailioVersion}; ${e.sippVersion}`,
    `- Servers pinned to core ${o.serverCpu}, SIPp (caller and callee) and dumpcap to core ${o.loadCpu} (taskset); loopback (127.0.0.1) only; a fresh server process for every step.`,
    `- sipstate: \`${r.serverCommands.sipstate ?? 'node dist/src/cli/main.js ...'}\``,
    `- Kamailio: \`${r.serverCommands.kamailio ?? 'kamailio -f bench/kamailio/kamailio.cfg ...'}\` — \`bench/kamailio/kamailio.cfg\`: tm + sl + rr + registrar/usrloc (db_mode 0), t_relay for everything, REGISTER in a transaction (t_newtran before save, as sipstate keeps a server transaction per REGISTER), children=1, no auth/NAT/DB/dialog.`,
    `- Socket buffers: net.core.rmem_max ${bytes(r.sysctls.rmem_max)}, wmem_max ${bytes(r.sysctls.wmem_max)}; effective receive buffer (ss rb) sipstate ${buf('sipstate')}, Kamailio ${buf('kamailio')}; SIPp \`-buff_size\` 4 MiB.`,
    `- Steps: REGISTER ${o.registerRates.map(int).join(', ')}/s × ${o.registerSeconds} s; calls ${o.callRates.map(int).join(', ')} cps × ${o.stepSeconds} s; latency ${o.latencySeconds} s.`,
    '',
    '### Summary',
    '',
    mdTable(['figure', 'sipstate', 'Kamailio', 'sipstate / Kamailio', 'note'], rows, [':---', '---:', '---:', '---:', ':---']),
    '',
    registerDetails(r),
    callDetails(r),
    latencyDetails(r),
    memoryDetails(r),
    journalDetails(r),
    ...(notes.length ? ['### Notes from this run', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ]
    .filter((x) => x !== undefined)
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Replaces the part between the markers; without them, the generated part goes before
 * "## Profile findings" (kept with everything after it), or at the end; a new file gets a title.
 */
export function writeBenchmarks(file: string, generated: string, markers: Markers = BENCH_MARKERS, after?: Markers): void {
  const block = `${markers.begin}\n${generated}\n${markers.end}`;
  let text: string;
  if (!existsSync(file)) {
    text = `# sipstate benchmarks\n\nsipstate against Kamailio under the same SIPp load; regenerate with \`npm run bench\`.\n\n${block}\n`;
  } else {
    const old = readFileSync(file, 'utf8');
    const b = old.indexOf(markers.begin);
    const en = old.indexOf(markers.end);
    if (b >= 0 && en > b) text = `${old.slice(0, b)}${block}${old.slice(en + markers.end.length)}`;
    else if (after && old.indexOf(after.end) >= 0) {
      const at = old.indexOf(after.end) + after.end.length;
      text = `${old.slice(0, at)}\n\n${block}${old.slice(at)}`;
    } else {
      const pf = old.search(/^## Profile findings\s*$/m);
      text = pf >= 0 ? `${old.slice(0, pf).trimEnd()}\n\n${block}\n\n${old.slice(pf)}` : `${old.trimEnd()}\n\n${block}\n`;
    }
  }
  writeFileSync(file, text);
}

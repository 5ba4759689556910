import { parseArgs } from 'node:util';
import type { LogLevel } from '../util/logger.js';
import type { FsyncMode } from '../journal/writer.js';
import { DEFAULT_ENGINE, type MachineEngine } from '../actors/leanInterpreter.js';
import type { CallLogFormat } from '../projections/callLogFormat.js';
import { algorithmOf, DEFAULT_ALGORITHMS, type DigestAlgorithm } from '../auth/digest.js';
import type { BackgroundThreads } from '../util/backgroundThreads.js';

export interface ProxySettings {
  host: string | null;
  port: number;
  domains: string[];
  t1: number;
  t2: number;
  t4: number;
  timerC: number;
  maxCallSeconds: number;
  maxCalls: number;
  minExpires: number;
  defaultExpires: number;
  maxExpires: number;
  adminPort: number | null;
  inspectPort: number | null;
  logLevel: LogLevel;
  journal: string;
  fsync: FsyncMode;
  segmentBytes: number;
  callLog: string;
  callLogFormat: CallLogFormat;
  reasonPhrases: string | null;
  rateLimit: number;
  authFailures: number;
  banSeconds: number;
  blockUserAgents: string[];
  /** The digest users file; null: authentication off. */
  users: string | null;
  /** The digest realm; null: the proxy's domain (first --domain, else the listening address). */
  realm: string | null;
  /** Digest algorithms offered, preferred first. */
  authAlgorithms: readonly DigestAlgorithm[];
  /** Worker processes sharing the UDP port (src/cluster); 1: everything in this process. */
  workers: number;
  /** Who interprets the machines: XState's interpreter, or the lean one (src/actors/leanInterpreter.ts). */
  engine: MachineEngine;
  /** The scheduling of the process's threads other than the event loop's (src/util/backgroundThreads.ts). */
  backgroundThreads: BackgroundThreads;
  /** Scripted calls run through a throw-away supervisor once listening (src/actors/warmUp.ts); 0: none. */
  warmUpCalls: number;
}

/** Scripted calls at start: enough for V8 to optimize the hot path (BENCHMARKS.md, finding 39). */
export const DEFAULT_WARM_UP_CALLS = 3000;

export const USAGE = `Usage: sipstate [options]

  --host IP              address to listen on (default: the default route's interface)
  --port N               UDP port (default 5060)
  --domain NAME          a SIP domain served here besides the host address (repeatable)
  --t1 MS --t2 MS --t4 MS  transaction timers (defaults 500, 4000, 5000; RFC 3261 §17)
  --timer-c MS           proxy INVITE Timer C (default 180000; §16.8)
  --max-call-seconds N   end a call kept open this long without BYE (default 43200)
  --max-calls N          calls open at once in the whole proxy; a new INVITE past it gets 503
                         (default 100000; with --workers, each worker has its share of it)
  --min-expires N --default-expires N --max-expires N   registrar (defaults 60, 3600, 7200)
  --admin-port N         serve GET /status (live actor counts) on 127.0.0.1:N
  --inspect [PORT]       relay every machine to the Stately inspector (local server, default port 8080)
  --log-level LEVEL      error | warn | info | debug (default info)
  --reason-phrases P     rewrite response reason phrases: a preset (sk) or a JSON file {"180": "..."}
  --rate-limit N         requests per second one source address may send; beyond, it is banned (default 200, 0: off)
  --auth-failures N      failed authentications per minute before a source is banned (default 10)
  --ban-seconds N        how long a ban lasts (default 300)
  --block-user-agent S   also drop requests whose User-Agent contains S (repeatable; known scanners always)
  --users FILE           digest authentication (RFC 3261 §22) against this users file, written by
                         "sipstate user add"; without it anyone may register any name and call
  --realm NAME           digest realm (default: the first --domain, else the address listened on)
  --auth-algorithms L    digest algorithms offered, preferred first (default sha-256,md5; md5 alone
                         for phones that know nothing else, e.g. baresip 1.x)
  --workers N            worker processes sharing the port, each owning the calls whose Call-ID
                         hashes to it (default 1: one process; see docs/design.md "Across cores")
  --engine E             xstate | lean: who runs the machines' definitions (default ${DEFAULT_ENGINE}; xstate:
                         XState's interpreter; lean: about a quarter less CPU per call and shorter
                         stalls under a held load, BENCHMARKS.md findings 28 and 42)
  --background-threads M low | idle | normal: the threads besides the event loop's (V8's compiler
                         and collector helpers, libuv's pool) at nice 19 (low, default), under
                         SCHED_IDLE (idle: never ahead of a datagram, but starved when the core
                         is saturated), or as started (normal); BENCHMARKS.md finding 38
  --warm-up N            once listening, run N scripted calls through a throw-away supervisor,
                         beside the real traffic, so V8 compiles the hot path in the first second
                         or two (default 3000; 0: none); nothing of it is journaled; finding 39
  --journal DIR          event journal folder (default ./journal)
  --fsync MODE           always | batch | off (default batch: written every 10 ms, synced at most every 50 ms)
  --journal-segment-mb N start a new journal segment at this size (default 64, at most 256)
  --call-log FILE        the call log projected from the journal (default ./log.txt)
  --call-log-format F    original | extended (adds date, Call-ID and duration)

Other commands:
  sipstate replay --journal DIR --call-log FILE [--call-log-format F]
  sipstate calls [--journal DIR] [--from USER] [--to USER] [--since DATE] [--outcome O] [--json]
  sipstate user add NAME [--users FILE] [--realm NAME | --domain NAME | --host IP]
  -h, --help             this text
`;

function int(name: string, v: string | undefined, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} needs a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

/** Reads the command line; throws an Error with a one-line message for anything wrong. */
export function parseProxyArgs(argv: string[]): ProxySettings | 'help' {
  // `--inspect` may stand alone or take a port: normalise "--inspect" followed by another flag.
  const norm: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    norm.push(argv[i]!);
    if (argv[i] === '--inspect' && (i + 1 >= argv.length || argv[i + 1]!.startsWith('-'))) norm.push('8080');
  }
  const { values } = parseArgs({
    args: norm,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      domain: { type: 'string', multiple: true },
      t1: { type: 'string' },
      t2: { type: 'string' },
      t4: { type: 'string' },
      'timer-c': { type: 'string' },
      'max-call-seconds': { type: 'string' },
      'max-calls': { type: 'string' },
      'min-expires': { type: 'string' },
      'default-expires': { type: 'string' },
      'max-expires': { type: 'string' },
      'admin-port': { type: 'string' },
      inspect: { type: 'string' },
      'log-level': { type: 'string' },
      journal: { type: 'string' },
      fsync: { type: 'string' },
      'journal-segment-mb': { type: 'string' },
      'call-log': { type: 'string' },
      'call-log-format': { type: 'string' },
      'reason-phrases': { type: 'string' },
      'rate-limit': { type: 'string' },
      'auth-failures': { type: 'string' },
      'ban-seconds': { type: 'string' },
      'block-user-agent': { type: 'string', multiple: true },
      users: { type: 'string' },
      realm: { type: 'string' },
      'auth-algorithms': { type: 'string' },
      workers: { type: 'string' },
      engine: { type: 'string' },
      'background-threads': { type: 'string' },
      'warm-up': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!['error', 'warn', 'info', 'debug'].includes(level)) throw new Error(`--log-level must be error, warn, info or debug`);
  const settings: ProxySettings = {
    host: values.host ?? null,
    port: int('port', values.port, 5060, 0, 65535),
    domains: values.domain ?? [],
    t1: int('t1', values.t1, 500, 1),
    t2: int('t2', values.t2, 4000, 1),
    t4: int('t4', values.t4, 5000, 0),
    timerC: int('timer-c', values['timer-c'], 180_000, 1),
    maxCallSeconds: int('max-call-seconds', values['max-call-seconds'], 43_200, 1),
    maxCalls: int('max-calls', values['max-calls'], 100_000, 1),
    minExpires: int('min-expires', values['min-expires'], 60),
    defaultExpires: int('default-expires', values['default-expires'], 3600, 1),
    maxExpires: int('max-expires', values['max-expires'], 7200, 1),
    adminPort: values['admin-port'] === undefined ? null : int('admin-port', values['admin-port'], 0, 0, 65535),
    inspectPort: values.inspect === undefined ? null : int('inspect', values.inspect, 8080, 1, 65535),
    logLevel: level,
    journal: values.journal ?? 'journal',
    fsync: fsyncMode(values.fsync),
    // At most 256: a segment is read back as one string, and V8's longest is 512 Mi characters.
    segmentBytes: int('journal-segment-mb', values['journal-segment-mb'], 64, 1, 256) * 1024 * 1024,
    callLog: values['call-log'] ?? 'log.txt',
    callLogFormat: callLogFormat(values['call-log-format']),
    reasonPhrases: values['reason-phrases'] ?? null,
    rateLimit: int('rate-limit', values['rate-limit'], 200),
    authFailures: int('auth-failures', values['auth-failures'], 10, 1),
    banSeconds: int('ban-seconds', values['ban-seconds'], 300, 1),
    blockUserAgents: values['block-user-agent'] ?? [],
    users: values.users ?? null,
    realm: values.realm ?? null,
    authAlgorithms: authAlgorithms(values['auth-algorithms']),
    workers: int('workers', values.workers, 1, 1, 64),
    engine: machineEngine(values.engine),
    backgroundThreads: backgroundThreads(values['background-threads']),
    warmUpCalls: int('warm-up', values['warm-up'], DEFAULT_WARM_UP_CALLS, 0, 1_000_000),
  };
  // A worker whose share of the limit is no call would refuse every call it owns (src/cluster/callShare.ts).
  if (settings.maxCalls < settings.workers) throw new Error(`--max-calls ${settings.maxCalls} is fewer than --workers ${settings.workers}: each worker needs a share of at least one call`);
  return settings;
}

/** `--auth-algorithms sha-256,md5`: names in any case, each once, in order of preference (RFC 8760 §2.3). */
export function authAlgorithms(v: string | undefined): readonly DigestAlgorithm[] {
  if (v === undefined) return DEFAULT_ALGORITHMS;
  const list = v.split(',').map((s) => algorithmOf(s.trim()));
  if (list.length === 0 || list.some((a) => a === null) || new Set(list).size !== list.length) {
    throw new Error(`--auth-algorithms takes sha-256 and/or md5, comma-separated, each once, got "${v}"`);
  }
  return list as DigestAlgorithm[];
}

export function machineEngine(v: string | undefined): MachineEngine {
  const e = v ?? DEFAULT_ENGINE;
  if (e !== 'xstate' && e !== 'lean') throw new Error(`--engine must be xstate or lean`);
  return e;
}

export function backgroundThreads(v: string | undefined): BackgroundThreads {
  const b = v ?? 'low';
  if (b !== 'low' && b !== 'idle' && b !== 'normal') throw new Error(`--background-threads must be low, idle or normal`);
  return b;
}

export function fsyncMode(v: string | undefined): FsyncMode {
  const m = v ?? 'batch';
  if (m !== 'always' && m !== 'batch' && m !== 'off') throw new Error(`--fsync must be always, batch or off`);
  return m;
}

export function callLogFormat(v: string | undefined): CallLogFormat {
  const f = v ?? 'original';
  if (f !== 'original' && f !== 'extended') throw new Error(`--call-log-format must be original or extended`);
  return f;
}

/**
 * A real softphone (baresip 1.0.0) on a simulated LAN host, driven through its ctrl_tcp module
 * (netstring-framed JSON commands, responses and events).
 *
 * ctrl_tcp listens on the namespace's loopback, which this process can't reach, so a tiny Node
 * relay runs in the same namespace and pipes the TCP stream to our stdio.
 *
 * The account is added with `uanew` only once the control link is up, so no event (REGISTER_OK,
 * CALL_INCOMING, ...) can fire before we are listening.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lan } from './netns.js';

export interface PhoneOptions {
  user: string;
  /** Registrar/proxy to REGISTER with; omit for a phone that only calls directly (regint=0). */
  proxyIp?: string;
  proxyPort?: number;
  /** Local SIP port inside the host's namespace (default 5060). */
  sipPort?: number;
  /** ctrl_tcp port on the namespace's loopback (default 4444); differ it to run 2 phones on one host. */
  ctrlPort?: number;
  /** 'auto' (default) answers at once; 'manual' waits for the `accept` command (CALL_INCOMING first). */
  answerMode?: 'auto' | 'manual';
  /** Extra account addr-params, e.g. ';regint=60'. */
  accountParams?: string;
  startTimeoutMs?: number;
  /**
   * Run baresip with `-s`: it prints every SIP message it sends or receives, with the addresses
   * (parsed by Phone.sipTrace()). stdout is line-buffered (stdbuf) so the trace arrives promptly.
   */
  sipTrace?: boolean;
  /**
   * Video: fakevideo as the source, vidbridge as a null display, VP8 as the codec
   * (account param video_codecs=VP8). Without it the phone has no video stream at all.
   */
  video?: boolean;
  /**
   * Load the stdio UI (its stdin is a pipe nobody writes to), so that what baresip shows a user
   * through its UI appears in output(): e.g. a received MESSAGE as `\rsip:alice@IP: "text"`.
   */
  uiOutput?: boolean;
  /**
   * Lines of baresip's `contacts` file (e.g. '<sip:bob@10.77.5.1>'); loads the contact module,
   * whose `message TEXT` command sends a SIP MESSAGE to the current contact (the first one at
   * start; `contact_next` moves on).
   */
  contacts?: string[];
  /** More modules to load, e.g. ['uuid.so'] (an instance-id for `;sipnat=outbound`, RFC 5626). */
  modules?: string[];
}

/** One SIP message from baresip's `-s` trace. */
export interface TracedSip {
  /** Direction from this phone's point of view: 'tx' if it sent the message. */
  dir: 'tx' | 'rx';
  src: string;
  dst: string;
  /** The whole message as printed (start line, headers, body). */
  text: string;
  startLine: string;
  /** Request method, or undefined for a response. */
  method?: string;
  /** Response status code, or undefined for a request. */
  status?: number;
  /** CSeq header value, e.g. '2 INVITE'. */
  cseq: string;
  callId: string;
  body: string;
}

/** A ctrl_tcp event, e.g. {type:'CALL_ESTABLISHED', class:'call', peeruri, id, param, direction, accountaor}. */
export interface PhoneEvent {
  event: true;
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  [k: string]: unknown;
}

export type EventMatch = string | RegExp | ((e: PhoneEvent) => boolean);

export interface Phone {
  /** Account AOR, e.g. sip:alice@10.77.5.1 */
  aor: string;
  /** Where this phone itself listens, e.g. sip:alice@10.77.5.2:5060 (for direct calls). */
  uri: string;
  events: PhoneEvent[];
  waitRegistered(timeoutMs?: number): Promise<PhoneEvent>;
  /**
   * Resolves with the first matching event after the one the previous waitEvent returned
   * (events already received count, so there is no race with the call that triggers them).
   * A string matches the event type exactly, a RegExp is tested against the type.
   */
  waitEvent(match: EventMatch, timeoutMs?: number, label?: string): Promise<PhoneEvent>;
  /** Like waitEvent, but searches every event received so far and leaves waitEvent's cursor alone. */
  findEvent(match: EventMatch, timeoutMs?: number, label?: string): Promise<PhoneEvent>;
  /** Runs a baresip long command (e.g. 'dial', 'hangup', 'reginfo'); resolves with its output. */
  command(cmd: string, params?: string, timeoutMs?: number): Promise<string>;
  dial(uri: string): Promise<string>;
  hangup(): Promise<string>;
  /** Quits baresip (gracefully, then by signal); idempotent. */
  stop(): Promise<void>;
  /** baresip's stdout+stderr so far (for failure messages). */
  output(): string;
  /** SIP messages from the `-s` trace so far, in order (needs sipTrace: true). Do not modify. */
  sipTrace(): readonly TracedSip[];
  /** Resolves with the first traced SIP message matching `pred` (those already received count). */
  findSip(pred: (m: TracedSip) => boolean, timeoutMs?: number, label?: string): Promise<TracedSip>;
  /** Resolves once baresip's output matches `re` (output so far counts). */
  waitOutput(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

// Connects (retrying while baresip starts) and pipes bytes both ways; exits when either side ends.
const RELAY = `
const net = require('node:net');
const [port, wait] = process.argv.slice(1).map(Number);
const deadline = Date.now() + wait;
const go = () => {
  const s = net.connect(port, '127.0.0.1');
  s.once('error', () => { if (Date.now() > deadline) process.exit(3); setTimeout(go, 50); });
  s.once('connect', () => {
    s.removeAllListeners('error');
    s.on('error', () => process.exit(4));
    s.on('close', () => process.exit(0));
    process.stdin.pipe(s); s.pipe(process.stdout);
    process.stdin.on('end', () => s.end());
  });
};
go();`;

function config(listen: string, user: string, ctrlPort: number, opts: PhoneOptions): string {
  // No audio hardware: ausine as source (needs 48 kHz stereo; baresip resamples to PCMU),
  // aubridge as a null player (a bridge device with no matching source never plays).
  // No stun/turn/ice: media stays on the LAN. menu provides dial/hangup/uanew/quit commands.
  return `poll_method epoll
sip_listen ${listen}
call_local_timeout 30
call_max_calls 4
audio_source ausine,440
audio_player aubridge,null-${user}
audio_alert aubridge,null-alert-${user}
ausrc_srate 48000
ausrc_channels 2
rtp_ports 20000-20999
rtcp_mux no
jitter_buffer_delay 5-10
statmode_default off
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aubridge.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:${ctrlPort}
${opts.video ? VIDEO_CONFIG(user) : ''}${opts.contacts ? 'module_app contact.so\n' : ''}${opts.uiOutput ? 'module stdio.so\n' : ''}${(opts.modules ?? []).map((m) => `module ${m}\n`).join('')}
`;
}

// fakevideo draws frames; vidbridge with a device name no source uses is a display that shows nothing.
const VIDEO_CONFIG = (user: string) => `module fakevideo.so
module vp8.so
module vidbridge.so
video_source fakevideo,nil
video_display vidbridge,null-video-${user}
video_size 176x144
video_bitrate 100000
video_fps 10
`;

// `-s` prints each message as: ESC[36;1m '#' NL 'UDP SRC -> DST' NL MESSAGE ESC[;m
const TRACE_RE = /\x1b\[36;1m#\r?\n(\S+) (\S+) -> (\S+)\r?\n([\s\S]*?)\x1b\[;m/g;

/** Appends the messages complete in out[from..] to msgs; returns where parsing may resume. */
function parseTrace(out: string, from: number, ownIp: string, msgs: TracedSip[]): number {
  let next = from;
  const re = new RegExp(TRACE_RE.source, 'g');
  re.lastIndex = from;
  for (let m = re.exec(out); m; m = re.exec(out)) {
    next = re.lastIndex;
    const [, , src, dst, raw] = m as unknown as [string, string, string, string, string];
    const text = raw.replace(/\r\n/g, '\n');
    const [head, ...rest] = text.split('\n\n');
    const lines = head!.split('\n');
    const startLine = lines[0]!.trim();
    const header = (name: string, compact: string) =>
      lines.slice(1).find((l) => new RegExp(`^(${name}|${compact})\\s*:`, 'i').test(l))?.replace(/^[^:]*:\s*/, '').trim() ?? '';
    const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
    msgs.push({
      dir: src.split(':')[0] === ownIp ? 'tx' : 'rx',
      src,
      dst,
      text,
      startLine,
      ...(status ? { status: Number(status[1]) } : { method: startLine.split(' ')[0]! }),
      cseq: header('CSeq', 'CSeq'),
      callId: header('Call-ID', 'i'),
      body: rest.join('\n\n'),
    });
  }
  return next;
}

function matcher(m: EventMatch): (e: PhoneEvent) => boolean {
  if (typeof m === 'string') return (e) => e.type === m;
  if (m instanceof RegExp) return (e) => m.test(e.type);
  return m;
}

export async function startPhone<H extends string>(lan: Lan<H>, host: H, opts: PhoneOptions): Promise<Phone> {
  const h = lan.hosts[host];
  const sipPort = opts.sipPort ?? 5060;
  const ctrlPort = opts.ctrlPort ?? 4444; // the namespace's own loopback, so no clash across hosts
  const dir = path.join(lan.tmpDir, `baresip-${host}-${opts.user}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), config(`${h.ip}:${sipPort}`, opts.user, ctrlPort, opts));
  writeFileSync(path.join(dir, 'accounts'), ''); // account comes later via uanew
  if (opts.contacts) writeFileSync(path.join(dir, 'contacts'), opts.contacts.map((c) => `${c}\n`).join(''));

  const domain = opts.proxyIp ? (opts.proxyPort && opts.proxyPort !== 5060 ? `${opts.proxyIp}:${opts.proxyPort}` : opts.proxyIp) : `${h.ip}:${sipPort}`;
  const aor = `sip:${opts.user}@${domain}`;
  const account = `<${aor}>;answermode=${opts.answerMode ?? 'auto'};audio_codecs=PCMU${opts.video ? ';video_codecs=VP8' : ''};regint=${opts.proxyIp ? 600 : 0}${opts.accountParams ?? ''}`;

  const listeners = new Set<() => void>(); // re-check waiters on every event / exit
  const notify = () => listeners.forEach((f) => f());
  let out = '';
  const argv = ['baresip', '-4', '-f', dir, ...(opts.sipTrace ? ['-s'] : [])];
  // stdbuf execs baresip in place (same pid); without it a piped stdout holds the trace back.
  const bs = lan.exec(host, opts.sipTrace ? ['stdbuf', '-oL', '-eL', ...argv] : argv, { stdio: [opts.uiOutput ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  // The trace is parsed from stdout alone: a stderr chunk could land inside a message in `out`.
  let stdout = '';
  bs.stdout!.setEncoding('utf8'); // no multi-byte character split across chunks
  bs.stderr!.setEncoding('utf8');
  bs.stdout!.on('data', (d) => ((out += d), (stdout += d), notify()));
  bs.stderr!.on('data', (d) => ((out += d), notify()));
  let exitInfo: string | undefined;
  const onExit = (what: string) => (code: number | null, sig: string | null) => {
    exitInfo ??= `${what} exited (code ${code}, signal ${sig})`;
    notify();
  };
  bs.once('exit', onExit('baresip'));
  bs.once('error', (e) => ((exitInfo ??= `baresip failed to start: ${e.message}`), notify()));

  const startTimeout = opts.startTimeoutMs ?? 5000;
  const relay: ChildProcess = lan.exec(host, [process.execPath, '-e', RELAY, String(ctrlPort), String(startTimeout)], { stdio: ['pipe', 'pipe', 'pipe'] });
  relay.once('exit', onExit('ctrl_tcp relay'));
  relay.stdin!.on('error', () => {}); // EPIPE after the relay exits is reported via exitInfo

  const events: PhoneEvent[] = [];
  const responses = new Map<string, { ok: boolean; data: string }>();
  let buf = Buffer.alloc(0);
  // Netstring lengths are in bytes, hence Buffer rather than string slicing.
  let ctrlTail = ''; // the last bytes of the control stream, for failure messages
  relay.stderr!.on('data', (d) => (ctrlTail += `[relay stderr] ${d}`));
  relay.stdout!.on('data', (d: Buffer) => {
    ctrlTail = (ctrlTail + d.toString('latin1')).slice(-1500);
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(buf.subarray(0, colon).toString());
      if (!Number.isInteger(len)) {
        exitInfo ??= `ctrl_tcp stream corrupt near: ${buf.subarray(0, 40).toString()}`;
        relay.kill('SIGKILL');
        break;
      }
      if (buf.length < colon + 1 + len + 1) break;
      const body = buf.subarray(colon + 1, colon + 1 + len).toString();
      buf = buf.subarray(colon + 1 + len + 1); // skip trailing ','
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(body);
      } catch {
        continue; // not JSON: ignore rather than wedge the stream
      }
      if (msg.event) events.push(msg as PhoneEvent);
      else if (msg.response && typeof msg.token === 'string') responses.set(msg.token, { ok: msg.ok === true, data: String(msg.data ?? '') });
    }
    notify();
  });

  const describe = () =>
    `events: ${events.map((e) => `${e.type}${e.param ? `(${e.param})` : ''}`).join(', ') || 'none'}\n--- baresip output (${host}) ---\n${out.slice(-3000)}\n--- ctrl_tcp stream (last bytes) ---\n${ctrlTail}`;

  // Polls `check` on each event/exit until it yields a value, fails, or times out.
  function until<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(tick);
        f();
      };
      const tick = () => {
        let v: T | undefined;
        try {
          v = check();
        } catch (e) {
          return done(() => reject(e));
        }
        if (v !== undefined) return done(() => resolve(v as T));
        if (exitInfo) done(() => reject(new Error(`${opts.user}: ${what}: ${exitInfo}\n${describe()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${opts.user}: timed out after ${timeoutMs} ms waiting for ${what}\n${describe()}`))), timeoutMs);
      listeners.add(tick);
      tick();
    });
  }

  let token = 0;
  async function command(cmd: string, params = '', timeoutMs = 3000): Promise<string> {
    const tok = `t${++token}`;
    const json = Buffer.from(JSON.stringify({ command: cmd, params, token: tok }));
    relay.stdin!.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
    const r = await until(`response to '${cmd} ${params}'`, timeoutMs, () => responses.get(tok));
    responses.delete(tok);
    if (!r.ok) throw new Error(`${opts.user}: baresip command '${cmd} ${params}' failed: ${r.data}`);
    return r.data;
  }

  let cursor = 0;
  function waitEvent(match: EventMatch, timeoutMs = 10_000, label?: string): Promise<PhoneEvent> {
    const m = matcher(match);
    return until(`event ${label ?? (typeof match === 'function' ? 'matching predicate' : String(match))}`, timeoutMs, () => {
      const i = events.findIndex((e, idx) => idx >= cursor && m(e));
      if (i < 0) return undefined;
      cursor = i + 1;
      return events[i];
    });
  }

  function findEvent(match: EventMatch, timeoutMs = 10_000, label?: string): Promise<PhoneEvent> {
    const m = matcher(match);
    return until(`event ${label ?? (typeof match === 'function' ? 'matching predicate' : String(match))}`, timeoutMs, () => events.find(m));
  }

  let stopping: Promise<void> | undefined;
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  const gone = (c: ChildProcess, ms: number) =>
    alive(c) ? Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, ms))]) : Promise.resolve();
  const stop = () =>
    (stopping ??= (async () => {
      if (!exitInfo) await command('quit', '', 1000).catch(() => {});
      await gone(bs, 1500);
      if (alive(bs)) bs.kill('SIGTERM');
      await gone(bs, 1000);
      if (alive(bs)) bs.kill('SIGKILL');
      await gone(relay, 1000); // it exits by itself once baresip closes the socket
      if (alive(relay)) relay.kill('SIGKILL');
    })());

  try {
    // Proves the whole path (baresip up, relay connected) before any call can start.
    await command('reginfo', '', startTimeout);
    await command('uanew', account);
  } catch (e) {
    await stop();
    throw e;
  }

  // Parsed incrementally: waiters re-check on every output chunk.
  const traced: TracedSip[] = [];
  let tracedUpTo = 0;
  const sipTrace = () => {
    tracedUpTo = parseTrace(stdout, tracedUpTo, h.ip, traced);
    return traced;
  };
  const findSip = (pred: (m: TracedSip) => boolean, timeoutMs = 10_000, label = 'a traced SIP message') =>
    until(label, timeoutMs, () => sipTrace().find(pred));
  const waitOutput = (re: RegExp, timeoutMs = 10_000) => until(`output matching ${re}`, timeoutMs, () => out.match(re) ?? undefined);

  return {
    aor,
    uri: `sip:${opts.user}@${h.ip}:${sipPort}`,
    events,
    waitEvent,
    findEvent,
    waitRegistered: (timeoutMs = 10_000) =>
      waitEvent((e) => {
        if (e.type === 'REGISTER_FAIL') throw new Error(`${opts.user}: REGISTER failed: ${e.param}\n${describe()}`);
        return e.type === 'REGISTER_OK';
      }, timeoutMs, 'REGISTER_OK'),
    command,
    dial: (uri) => command('dial', uri),
    hangup: () => command('hangup'),
    stop,
    output: () => out,
    sipTrace,
    findSip,
    waitOutput,
  };
}

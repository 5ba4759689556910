// Shared steps of the SIPp end-to-end tests: a proxy per test, callees in the background,
// callers run to the end, and the checks that the proxy registered and went idle again.
import type { ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, type RunningProxy } from './proxy.js';
import { UdpClient } from './udpClient.js';
import { runSipp, sipMessages, startSipp, type SippOptions, type SippResult, type SippRun } from './sipp.js';

export const TIMERS = ['--t1', '100', '--t2', '400', '--t4', '500'];
export const tail = (s: string, n = 3000) => (s.length > n ? `…${s.slice(-n)}` : s);

/** A temp folder for one test's journal and call log, removed at teardown. */
export function workspace(t: ExecutionContext, name: string): { dir: string; journal: string; callLog: string } {
  const dir = mkdtempSync(path.join(tmpdir(), `sipstate-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, journal: path.join(dir, 'journal'), callLog: path.join(dir, 'log.txt') };
}

export async function proxyFor(t: ExecutionContext, extra: string[] = [], opts: { journal?: string; callLog?: string; timeoutMs?: number } = {}): Promise<RunningProxy> {
  t.timeout(opts.timeoutMs ?? 30_000);
  const proxy = await startProxy({ args: [...TIMERS, ...extra], ...(opts.journal ? { journal: opts.journal } : {}), ...(opts.callLog ? { callLog: opts.callLog } : {}) });
  t.teardown(() => proxy.stop());
  return proxy;
}

export type Leg = Omit<SippOptions, 'remote'>;
export const at = (proxy: RunningProxy) => `${proxy.host}:${proxy.port}`;
export const newCallId = (name: string) => `${name}-${randomUUID().slice(0, 8)}@127.0.0.1`;
export const exited = (proxy: RunningProxy) =>
  proxy.process.exitCode !== null || proxy.process.signalCode !== null
    ? `proxy exited (${proxy.process.exitCode ?? proxy.process.signalCode}):\n${tail(proxy.output())}`
    : undefined;

/** A background callee; stopped at teardown if still running. */
export async function callee(t: ExecutionContext, proxy: RunningProxy, leg: Leg): Promise<SippRun> {
  const run = await startSipp({ timeoutMs: 25_000, ...leg, remote: at(proxy) });
  t.teardown(() => run.stop());
  return run;
}

export const caller = (proxy: RunningProxy, leg: Leg) => runSipp({ timeoutMs: 20_000, ...leg, remote: at(proxy) });

export function assertOk(t: ExecutionContext, r: SippResult, proxy: RunningProxy) {
  t.true(r.ok, `${r.report()}\n--- proxy output ---\n${tail(proxy.output())}`);
}

/** Waits until the proxy holds `n` bindings; fails at once if a callee ended before. */
export async function waitForBindings(proxy: RunningProxy, n: number, callees: SippRun[], ms = 5000) {
  const ended: SippResult[] = [];
  for (const c of callees) void c.done.then((r) => ended.push(r));
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    if (ended.length) throw new Error(`callee ended before the call:\n${ended[0]!.report()}\n--- proxy ---\n${tail(proxy.output())}`);
    if (exited(proxy)) throw new Error(exited(proxy));
    try {
      const s = await proxy.status();
      if (s.bindings >= n) return;
      last = JSON.stringify(s);
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy did not get ${n} binding(s) in ${ms} ms; last status: ${last}\n--- proxy ---\n${tail(proxy.output())}`);
}

/** Polls the proxy until no transaction, call or relay is left (timers are short with T1=100). */
export async function assertIdle(t: ExecutionContext, proxy: RunningProxy, ms = 12_000) {
  const keys = ['serverTransactions', 'clientTransactions', 'calls', 'relays'] as const;
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const s = await proxy.status();
      last = JSON.stringify(s);
      if (keys.every((k) => s[k] === 0)) return t.pass();
    } catch (e) {
      last = String(e);
    }
    if (exited(proxy)) return t.fail(exited(proxy));
    if (Date.now() > deadline) return t.fail(`proxy not idle ${ms} ms after the flow; last status: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const received = (r: SippResult, method: string) =>
  sipMessages(r.messages).filter((m) => m.dir === 'received' && m.first.startsWith(`${method} `));
export const sent = (r: SippResult, method: string) =>
  sipMessages(r.messages).filter((m) => m.dir === 'sent' && m.first.startsWith(`${method} `));


/** Registers `user` at a contact port on loopback with a raw REGISTER (for SIPp UAS scenarios that take any Call-ID). */
export async function registerContact(proxy: RunningProxy, user: string, contactPort: number): Promise<void> {
  const c = await UdpClient.open();
  try {
    await c.send([
      `REGISTER sip:${proxy.host}:${proxy.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKreg${contactPort};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@${proxy.host}>;tag=r1`,
      `To: <sip:${user}@${proxy.host}>`,
      `Call-ID: reg-${contactPort}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:${user}@127.0.0.1:${contactPort}>`,
      'Expires: 600',
      'Content-Length: 0',
      '', '',
    ].join('\r\n'), proxy.port);
    await c.waitFor(/^SIP\/2.0 200 /);
  } finally {
    c.close();
  }
}

/** log.txt once its entry is in (it is written when the journal's group commit is durable). */
export async function callLogEntry(file: string, ms = 3000): Promise<string> {
  const deadline = Date.now() + ms;
  let text = readFileSync(file, 'utf8');
  while (text === '' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    text = readFileSync(file, 'utf8');
  }
  return text;
}

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

/** dist/src/cli/main.js, resolved from dist/test/helpers. */
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface RunningProxy {
  host: string;
  port: number;
  adminPort: number;
  /** The journal folder and call log this proxy writes (a temp dir unless given). */
  journal: string;
  callLog: string;
  process: ChildProcess;
  output: () => string;
  status: () => Promise<ProxyStatus>;
  stop: () => Promise<number | null>;
}

export interface ProxyStatus {
  serverTransactions: number;
  clientTransactions: number;
  calls: number;
  relays: number;
  bindings: number;
  [k: string]: number;
}

/**
 * Starts the real proxy process (the compiled CLI) and waits for its "listening" line.
 * `args` are extra CLI flags; `--warm-up 0` unless they name `--warm-up`. `wrap` lets a test run it inside a namespace (e.g. ['ip','netns','exec','ns']).
 */
export async function startProxy(opts: { host?: string; port?: number; args?: string[]; wrap?: string[]; timeoutMs?: number; journal?: string; callLog?: string } = {}): Promise<RunningProxy> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const adminPort = await freePort('127.0.0.1');
  // Each proxy gets its own journal and call log unless the test shares one on purpose.
  const own = opts.journal === undefined || opts.callLog === undefined ? mkdtempSync(path.join(tmpdir(), 'sipstate-test-')) : null;
  const journal = opts.journal ?? path.join(own!, 'journal');
  const callLog = opts.callLog ?? path.join(own!, 'log.txt');
  // No start-up warm-up unless the test asks for one (test/e2e/warm-up.test.ts does): two cores run
  // many proxies at once here, with transaction timers of 100 ms, and each warm-up is a second or
  // two of CPU the test is not about.
  const args = opts.args ?? [];
  const warmUp = args.includes('--warm-up') ? [] : ['--warm-up', '0'];
  const argv = [MAIN, '--host', host, '--port', String(port), '--admin-port', String(adminPort), '--journal', journal, '--call-log', callLog, ...warmUp, ...args];
  const cmd = opts.wrap ? [...opts.wrap, process.execPath, ...argv] : [process.execPath, ...argv];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy did not start in time:\n${out}`));
    }, opts.timeoutMs ?? 10_000);
    const check = () => {
      if (/listening on udp:/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code}:\n${out}`));
    });
  });
  const adminHost = '127.0.0.1';
  return {
    host,
    port,
    adminPort,
    journal,
    callLog,
    process: child,
    output: () => out,
    status: async () => {
      const wrapExec = opts.wrap;
      if (wrapExec) {
        // The admin port lives inside the namespace: ask through the same wrapper, without
        // blocking this worker (phones' control links in tests alongside share its event loop).
        const { stdout } = await execFileAsync(wrapExec[0]!, [...wrapExec.slice(1), process.execPath, '-e',
          `fetch('http://${adminHost}:${adminPort}/status').then(r=>r.text()).then(t=>process.stdout.write(t))`], { timeout: 10_000 });
        return JSON.parse(stdout) as ProxyStatus;
      }
      const res = await fetch(`http://${adminHost}:${adminPort}/status`);
      return (await res.json()) as ProxyStatus;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(killer);
      if (own) rmSync(own, { recursive: true, force: true });
      return code;
    },
  };
}

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProxyArgs } from '../../src/cli/args.js';
import { yieldBackgroundThreads } from '../../src/util/backgroundThreads.js';

const MODULE = fileURLToPath(new URL('../../src/util/backgroundThreads.js', import.meta.url));

/** Field `n` (1-based, as in proc(5)) of a thread's stat line; the command name before it may hold spaces. */
function statField(pid: number, tid: number, n: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]);
}
const threadNice = (pid: number, tid: number) => statField(pid, tid, 19);
const threadPolicy = (pid: number, tid: number) => statField(pid, tid, 41);
/** sched(7)'s policy numbers, as the stat line shows them. */
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/**
 * A separate Node process yields its threads (the test runner's own are left alone), says so,
 * and waits; the test reads its threads' policy and nice value from /proc while it does.
 */
async function yieldedProcess(mode: 'low' | 'idle'): Promise<{ pid: number; threads: number; idle: number; niced: number; stop: () => void }> {
  const code = `import(${JSON.stringify(MODULE)}).then((m) => {
    const y = m.yieldBackgroundThreads(${JSON.stringify(mode)});
    process.stdout.write(JSON.stringify(y) + '\\n');
    setTimeout(() => {}, 10000);
  });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => reject(new Error(`child ended before it said what it did: ${out}`)));
    setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref();
  });
  return { pid: child.pid!, ...JSON.parse(line), stop: () => child.kill() };
}

test('low: every thread but the event loop\'s runs at nice 19; the event loop keeps its priority', async (t) => {
  const p = await yieldedProcess('low');
  try {
    const tids = readdirSync(`/proc/${p.pid}/task`).map(Number);
    t.true(p.threads >= 4, `V8's worker threads at least (${p.threads})`);
    t.is(p.niced, p.threads);
    t.is(p.idle, 0);
    for (const tid of tids) {
      if (tid === p.pid) {
        // The child inherits this process's nice value (0, unless the tests themselves run niced).
        t.is(threadNice(p.pid, tid), getPriority(), 'the event loop');
        t.is(threadPolicy(p.pid, tid), SCHED_OTHER);
      } else t.is(threadNice(p.pid, tid), 19, `thread ${tid}`);
    }
  } finally {
    p.stop();
  }
});

test('idle: every thread but the event loop\'s is under SCHED_IDLE (or nice 19 where chrt cannot)', async (t) => {
  const p = await yieldedProcess('idle');
  try {
    t.true(p.threads >= 4);
    t.is(p.idle + p.niced, p.threads);
    for (const tid of readdirSync(`/proc/${p.pid}/task`).map(Number)) {
      if (tid === p.pid) t.is(threadPolicy(p.pid, tid), SCHED_OTHER, 'the event loop');
      else if (p.idle > 0) t.is(threadPolicy(p.pid, tid), SCHED_IDLE, `thread ${tid}`);
      else t.is(threadNice(p.pid, tid), 19, `thread ${tid}`);
    }
  } finally {
    p.stop();
  }
});

test('the event loop is skipped, a thread that cannot be changed counts as neither; without /proc nothing happens', (t) => {
  // Made-up thread ids stand for /proc/self/task: this process's own id and three others.
  const dir = mkdtempSync(path.join(tmpdir(), 'tasks-'));
  try {
    for (const tid of [process.pid, 2, 3, 4]) writeFileSync(path.join(dir, String(tid)), '');
    const changed: string[] = [];
    const how = {
      idle: (tid: number) => tid === 2 && changed.push(`idle ${tid}`) > 0,
      nice: (tid: number) => {
        if (tid === 3) throw new Error('ESRCH');
        changed.push(`nice ${tid}`);
      },
    };
    t.deepEqual(yieldBackgroundThreads('idle', how, dir), { threads: 3, idle: 1, niced: 1 });
    t.deepEqual(changed, ['idle 2', 'nice 4']);
    changed.length = 0;
    // low never asks for SCHED_IDLE.
    t.deepEqual(yieldBackgroundThreads('low', how, dir), { threads: 3, idle: 0, niced: 2 });
    t.deepEqual(changed, ['nice 2', 'nice 4']);
    t.deepEqual(yieldBackgroundThreads('low', how, path.join(dir, 'none')), { threads: 0, idle: 0, niced: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--background-threads: low by default, idle and normal on request, anything else refused', (t) => {
  const of = (argv: string[]) => {
    const s = parseProxyArgs(argv);
    return s === 'help' ? null : s.backgroundThreads;
  };
  t.is(of([]), 'low');
  t.is(of(['--background-threads', 'idle']), 'idle');
  t.is(of(['--background-threads', 'normal']), 'normal');
  t.throws(() => parseProxyArgs(['--background-threads', 'high']), { message: /--background-threads must be low, idle or normal/ });
});

/** What the report says about the machine and the programs: CPU, Node, versions, the command. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';

export interface Environment {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  sipstateVersion: string;
  kamailioVersion: string;
  sippVersion: string;
  gitCommit: string;
}

function firstLine(cmd: string, args: string[], re: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    const m = re.exec(out);
    return m ? m[1]!.trim() : out.split('\n')[0]!.trim();
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    const m = re.exec(out);
    return m ? m[1]!.trim() : 'unknown';
  }
}

export function environment(): Environment {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    /* keep os.cpus() */
  }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version?: string };
  return {
    date: new Date().toISOString(),
    cpuModel,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: firstLine('uname', ['-sr'], /^(.+)$/m),
    node: process.version,
    sipstateVersion: pkg.version ?? 'unknown',
    kamailioVersion: firstLine('kamailio', ['-v'], /^version:\s*(kamailio \S+)/m),
    sippVersion: firstLine('sipp', ['-v'], /(SIPp v\S+)/),
    gitCommit: firstLine('git', ['-C', ROOT, 'describe', '--always', '--dirty'], /^(\S+)/m),
  };
}

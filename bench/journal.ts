/** The journal figures: bench/journalWorker.ts run as its own process on the server core. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { filesystemOf, makeTempDir, removeTempDir, spawnGroup } from './processes.js';
import { JOURNAL_WORKER } from './paths.js';
import type { JournalFigures } from './journalWorker.js';

export interface JournalOptions {
  batchEvents: number;
  alwaysMaxEvents: number;
  alwaysMaxMs: number;
  recoverEvents: number;
}

export async function journalFigures(o: JournalOptions, cpu: number): Promise<JournalFigures> {
  const dir = makeTempDir('journal');
  try {
    const out = path.join(dir, 'out.json');
    const err = path.join(dir, 'err.log');
    const g = spawnGroup(
      'journal worker',
      'taskset',
      ['-c', String(cpu), process.execPath, JOURNAL_WORKER, path.join(dir, 'j'), String(o.batchEvents), String(o.alwaysMaxEvents), String(o.alwaysMaxMs), String(o.recoverEvents)],
      { stdout: out, stderr: err },
    );
    const { code } = await g.exited;
    if (code !== 0) throw new Error(`journal worker exited with ${code}: ${readFileSync(err, 'utf8').slice(-2000)}`);
    return { ...(JSON.parse(readFileSync(out, 'utf8')) as JournalFigures), filesystem: `${filesystemOf(dir)} (${path.dirname(dir)})` };
  } finally {
    removeTempDir(dir);
  }
}

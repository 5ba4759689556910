import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScratchJournal } from '../../src/actors/warmUpJournal.js';

const OPTIONS = { fsync: 'batch', callLogFormat: 'original' } as const;

test('the warm-up scratch journal: opening it removes what dead processes left, nothing else; close() removes its own', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'sipstate-scratch-root-'));
  try {
    // The id of a process that has ended.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    for (const name of [`sipstate-warm-up-${dead}-abcdef`, `sipstate-warm-up-${process.pid}-ghijkl`, 'sipstate-warm-up-mnopqr', 'other']) {
      mkdirSync(path.join(root, name));
    }
    const scratch = ScratchJournal.open(OPTIONS, root);
    t.truthy(scratch);
    const after = readdirSync(root);
    t.false(after.includes(`sipstate-warm-up-${dead}-abcdef`), 'a dead process\'s is gone');
    t.true(after.includes(`sipstate-warm-up-${process.pid}-ghijkl`), 'a running process\'s is kept');
    t.true(after.includes('sipstate-warm-up-mnopqr') && after.includes('other'), 'names without a process id are not touched');
    t.true(existsSync(scratch!.dir) && path.basename(scratch!.dir).startsWith(`sipstate-warm-up-${process.pid}-`));
    scratch!.close();
    t.false(existsSync(scratch!.dir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the warm-up scratch journal: a process that exits before the warm-up ends leaves no directory', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'sipstate-scratch-root-'));
  try {
    const module = new URL('../../src/actors/warmUpJournal.js', import.meta.url).href;
    const script = `
      import { ScratchJournal } from ${JSON.stringify(module)};
      const s = ScratchJournal.open(${JSON.stringify(OPTIONS)}, ${JSON.stringify(root)});
      console.log(s.dir);
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    t.is(r.status, 0, r.stderr);
    const dir = r.stdout.trim();
    t.true(dir.startsWith(root), dir);
    t.false(existsSync(dir));
    t.deepEqual(readdirSync(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * The journal when the disk refuses writes. Each case runs the writer in a child process whose
 * disk really refuses: a file size limit (`ulimit -f`, EFBIG, partial writes included), or a full
 * filesystem (a 64 KiB tmpfs in a mount namespace of the child's own, ENOSPC; needs root and
 * `unshare`, skipped otherwise with a t.log saying why). The namespace and its tmpfs end with the
 * child.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const writerUrl = new URL('../../src/journal/writer.js', import.meta.url).href;
const readerUrl = new URL('../../src/journal/reader.js', import.meta.url).href;

interface Outcome {
  events: number;
  seqs: number[];
  corrupt: number;
  segments: number;
  published: number;
  publishedWhileFull?: number;
  publishedAtTrouble: number | null;
  trouble: string[];
}

function run(shell: string, script: string): Promise<Outcome> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', shell, 'bash', script], { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Outcome),
    ),
  );
}

/** The child's common part: a writer on DIR, what it published and told, and the journal read back. */
const prelude = (mode: string) => `
  const fs = await import('node:fs');
  const { JournalWriter, writerOptions } = await import(${JSON.stringify(writerUrl)});
  const { readJournal } = await import(${JSON.stringify(readerUrl)});
  const dir = process.env.DIR + '/journal';
  const w = new JournalWriter(dir, 0, writerOptions(${JSON.stringify(mode)}));
  let published = 0;
  const trouble = [];
  w.onDurable((es) => { published += es.length; });
  let publishedAtTrouble = null;
  w.onTrouble((m) => { trouble.push(m); publishedAtTrouble ??= published; });
  const event = (i) => ({ type: 'call.ringing', callId: 'call-' + i + '-' + 'x'.repeat(100), fromTag: 'f', from: 'sip:a@b', to: 'sip:c@b' });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const report = (extra) => {
    const seqs = [];
    const r = readJournal(dir, (e) => seqs.push(e.seq));
    console.log(JSON.stringify({ events: r.events, seqs, corrupt: r.corrupt.length + (r.tornTail ? 1 : 0), segments: fs.readdirSync(dir).length, published, publishedAtTrouble, trouble, ...extra }));
  };
`;

const gapless = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('a file size limit (EFBIG, partial writes): the writer starts a new segment; every event is there once, whole', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-efbig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // 16 KiB a file; the events (some 200 B each) cross the limit in the middle of a line.
  const out = await run(
    `ulimit -f 16; DIR=${dir} exec "${process.execPath}" --input-type=module -e "$1"`,
    `${prelude('always')}
      for (let i = 0; i < 300; i++) w.append(event(i));
      w.close();
      report({});`,
  );
  t.is(out.events, 300);
  t.deepEqual(out.seqs, gapless(300));
  t.is(out.corrupt, 0);
  t.true(out.segments >= 4, `${out.segments} segments`);
  t.is(out.published, 300);
  t.deepEqual(out.trouble, []);
});

for (const mode of ['always', 'batch'] as const) {
  test(`a full disk (ENOSPC), --fsync ${mode}: events wait in memory, unacknowledged, and are written in order once there is room`, async (t) => {
    if (process.getuid?.() !== 0) {
      t.log('SKIPPED: needs root to mount a tmpfs in a mount namespace of its own');
      return t.pass();
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-enospc-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const out = await run(
      `unshare -m bash -c 'mount -t tmpfs -o size=64k tmpfs "$0" && DIR="$0" exec "${process.execPath}" --input-type=module -e "$1"' ${dir} "$1"`,
      `${prelude(mode)}
        w.append(event(0));
        await sleep(30);
        // Fill the disk.
        const filler = fs.openSync(process.env.DIR + '/filler', 'w');
        try { for (;;) fs.writeSync(filler, Buffer.alloc(4096)); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
        fs.closeSync(filler);
        for (let i = 1; i < 50; i++) w.append(event(i));
        await sleep(200);
        const publishedWhileFull = published;
        fs.rmSync(process.env.DIR + '/filler');
        await sleep(1500);
        w.close();
        report({ publishedWhileFull });`,
    );
    // What still fitted in the segment's last page was written (--fsync always writes one event
    // at a time, the last of them in part, then cut back); nothing after the refusal is acknowledged.
    t.is(out.publishedWhileFull, out.publishedAtTrouble ?? -1);
    t.true(out.publishedWhileFull! >= 1 && out.publishedWhileFull! < 50, `${out.publishedWhileFull} acknowledged while full`);
    t.is(out.published, 50);
    t.is(out.events, 50);
    t.deepEqual(out.seqs, gapless(50));
    t.is(out.corrupt, 0);
    t.is(out.trouble.length, 2, out.trouble.join('\n'));
    t.regex(out.trouble[0]!, /cannot write .*ENOSPC.*held in memory/);
    t.regex(out.trouble[1]!, /writing again/);
  });
}

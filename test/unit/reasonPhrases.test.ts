import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPhraseTable, phraseRewriter } from '../../src/proxy/reasonPhrases.js';
import { response } from '../helpers/messages.js';
import { serialize } from '../../src/sip/serializer.js';

test('the sk preset reproduces the original phrases', (t) => {
  const table = loadPhraseTable('sk');
  t.is(table.get(100), 'Skusam');
  t.is(table.get(180), 'Zvonim');
  t.is(table.get(486), 'Nechaj ma na pokoji');
  t.is(table.get(400), 'Zlá požiadavka');
});

test('a JSON file of code -> phrase; bad files are refused with a clear message', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'phrases-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'de.json');
  writeFileSync(good, JSON.stringify({ 180: 'Es klingelt', 603: 'Abgelehnt' }));
  t.deepEqual([...loadPhraseTable(good)], [[180, 'Es klingelt'], [603, 'Abgelehnt']]);
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ 1800: 'x' }));
  t.throws(() => loadPhraseTable(bad), { message: /not a status code/ });
  writeFileSync(bad, JSON.stringify({ 180: 'two\r\nlines' }));
  t.throws(() => loadPhraseTable(bad), { message: /one line/ });
  t.throws(() => loadPhraseTable(path.join(dir, 'missing.json')), { message: /neither a preset/ });
});

test('only the phrase changes: same code, same headers, UTF-8 on the wire, same object for retransmissions', (t) => {
  const rewrite = phraseRewriter(loadPhraseTable('sk'));
  const r = response(486, 'Busy Here');
  const out = rewrite(r);
  t.is(out.status, 486);
  t.is(out.headers, r.headers);
  t.is(rewrite(r), out);
  t.true(serialize(rewrite(response(400, 'Bad Request'))).includes(Buffer.from('SIP/2.0 400 Zlá požiadavka\r\n', 'utf8')));
  const untouched = response(200, 'OK');
  t.is(rewrite(untouched), untouched);
});

import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_LINE_V8_FLAGS } from '../../src/util/heapTuning.js';
import { sipstateCommand } from '../../bench/sipstateServer.js';

// dist/test/unit -> the repository and the built CLI.
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const builtMain = path.resolve(here, '../../src/cli/main.js');

test('V8 flags that only work on the command line: npm start passes them before the CLI', (t) => {
  t.true(COMMAND_LINE_V8_FLAGS.length > 0, 'the list these tests check is not empty');
  const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start']!;
  const words = start.split(/\s+/);
  const main = words.indexOf('dist/src/cli/main.js');
  t.true(main > 0, start);
  for (const flag of COMMAND_LINE_V8_FLAGS) {
    const at = words.indexOf(flag);
    t.true(at > 0 && at < main, `${flag} in "${start}"`);
  }
});

test('V8 flags that only work on the command line: the sipstate executable passes them (env -S)', (t) => {
  const shebang = readFileSync(builtMain, 'utf8').split('\n', 1)[0]!;
  t.regex(shebang, /^#!\/usr\/bin\/env -S node /);
  for (const flag of COMMAND_LINE_V8_FLAGS) t.true(shebang.split(/\s+/).includes(flag), `${flag} in ${shebang}`);
});

test('V8 flags that only work on the command line: the benchmark runs sipstate with them', (t) => {
  const cmd = sipstateCommand(5060, 8080, '/tmp/x', 0);
  const main = cmd.findIndex((w) => w.endsWith('main.js'));
  for (const flag of COMMAND_LINE_V8_FLAGS) {
    const at = cmd.indexOf(flag);
    t.true(at > 0 && at < main, flag);
  }
});

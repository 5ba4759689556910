// The users file (`--users FILE`): one line per user and realm with the MD5 and SHA-256 HA1s,
// never a password; `sipstate user add` writes it.
import test from 'ava';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findUser, formatUserLine, loadUsers, makeUserEntry, parseUsers, upsertUser } from '../../src/auth/users.js';
import { applyKeys } from '../../src/cli/userAdd.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function tempFile(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'users.txt');
}

test('an entry holds H(name:realm:password) for MD5 and SHA-256 (RFC 7616 §3.4.2), not the password', (t) => {
  const u = makeUserEntry('101', 'lan', 'pa ss:word');
  t.deepEqual(u, { name: '101', realm: 'lan', md5: md5('101:lan:pa ss:word'), sha256: sha256('101:lan:pa ss:word') });
  t.is(formatUserLine(u), `101 lan ${u.md5} ${u.sha256}`);
  t.false(formatUserLine(u).includes('word'));
});

test('parse: comments, blank lines, one name in two realms; HA1 hex is lower-cased', (t) => {
  const a = makeUserEntry('101', 'lan', 'x');
  const b = makeUserEntry('101', 'other', 'y');
  const users = parseUsers(`# sipstate users\n\n  ${formatUserLine(a).toUpperCase().replace('101 LAN', '101 lan')}\r\n${formatUserLine(b)}\n   # indented comment\n`);
  t.deepEqual(findUser(users, '101', 'lan'), a);
  t.deepEqual(findUser(users, '101', 'other'), b);
  t.is(findUser(users, '102', 'lan'), undefined);
});

test('parse: a malformed line is an error naming its line', (t) => {
  const good = formatUserLine(makeUserEntry('101', 'lan', 'x'));
  const [, , m, s] = good.split(' ');
  for (const [text, error] of [
    [`# c\n101 lan ${m}`, /line 2: expected "NAME REALM MD5_HA1 SHA256_HA1", got 3 fields/],
    [`1 01 lan ${m} ${s}`, /line 1: expected .* got 5 fields/],
    [`10"1 lan ${m} ${s}`, /line 1: bad user name/],
    [`101 la"n ${m} ${s}`, /line 1: bad realm/],
    [`101 lan ${m!.slice(1)} ${s}`, /line 1: the MD5 HA1 must be 32 hex digits/],
    [`101 lan ${m} ${s!.replace(/^./, 'g')}`, /line 1: the SHA-256 HA1 must be 64 hex digits/],
    [`${good}\n\n${good}`, /line 3: user 101 in realm lan is listed twice/],
  ] as const) t.throws(() => parseUsers(text), { message: error }, text);
});

test('load: an unreadable file is a one-line error', (t) => {
  t.throws(() => loadUsers('/nonexistent/users.txt'), { message: 'cannot read users file /nonexistent/users.txt: ENOENT' });
});

test('upsert: a new file gets mode 0600; a user is appended, or replaced in place with comments kept', (t) => {
  const file = tempFile(t);
  t.is(upsertUser(file, makeUserEntry('101', 'lan', 'a')), 'added');
  t.is(statSync(file).mode & 0o777, 0o600);
  writeFileSync(file, `# phones\n${readFileSync(file, 'utf8')}`);
  t.is(upsertUser(file, makeUserEntry('102', 'lan', 'b')), 'added');
  t.is(upsertUser(file, makeUserEntry('101', 'lan', 'c')), 'replaced');
  t.is(upsertUser(file, makeUserEntry('101', 'other', 'd')), 'added', 'another realm is another line');
  t.deepEqual(readFileSync(file, 'utf8').split('\n'), [
    '# phones',
    formatUserLine(makeUserEntry('101', 'lan', 'c')),
    formatUserLine(makeUserEntry('102', 'lan', 'b')),
    formatUserLine(makeUserEntry('101', 'other', 'd')),
    '',
  ]);
});

test('upsert: an existing file keeps its mode; a malformed one is reported and left alone', (t) => {
  const file = tempFile(t);
  upsertUser(file, makeUserEntry('101', 'lan', 'a'));
  chmodSync(file, 0o640);
  upsertUser(file, makeUserEntry('102', 'lan', 'b'));
  t.is(statSync(file).mode & 0o777, 0o640);
  writeFileSync(file, 'broken line\n');
  t.throws(() => upsertUser(file, makeUserEntry('101', 'lan', 'a')), { message: /users\.txt: users file line 1: expected/ });
  t.is(readFileSync(file, 'utf8'), 'broken line\n');
});

test('the hidden password prompt: typing, backspace, Ctrl-U, escape sequences, Enter and Ctrl-C', (t) => {
  t.deepEqual(applyKeys('', 'abc'), { text: 'abc', end: null });
  t.deepEqual(applyKeys('abc', '\x7fd\r'), { text: 'abd', end: 'enter' });
  t.deepEqual(applyKeys('abc', '\x15xy\n'), { text: 'xy', end: 'enter' });
  t.deepEqual(applyKeys('a', '\x1b[Db\x1b[200~c'), { text: 'abc', end: null }, 'arrow keys and paste markers are not part of it');
  t.deepEqual(applyKeys('secret', '\x03'), { text: 'secret', end: 'cancel' });
  t.deepEqual(applyKeys('', '\x04'), { text: '', end: 'cancel' });
  t.deepEqual(applyKeys('pässwörd', '\x7f'), { text: 'pässwör', end: null });
});

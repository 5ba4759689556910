import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, chmodSync, writeSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { ha1 } from './digest.js';

/**
 * The users file (`--users FILE`): one user per line, `NAME REALM MD5_HA1 SHA256_HA1`, where
 * HA1 = H(name ":" realm ":" password) in lower-case hex (RFC 7616 §3.4.2, RFC 8760 §2). Storing
 * HA1 for both algorithms lets the server offer SHA-256 and MD5 (RFC 8760 §2.3) without ever
 * keeping the password. Lines whose first non-blank character is `#`, and blank lines, are ignored.
 */
export interface UserEntry {
  readonly name: string;
  readonly realm: string;
  /** H(A1) with MD5: 32 hex digits. */
  readonly md5: string;
  /** H(A1) with SHA-256: 64 hex digits. */
  readonly sha256: string;
}

/** Users by name; a name may have one entry per realm. */
export type Users = Map<string, UserEntry[]>;

/** RFC 3261 §25.1 `user` characters (unreserved / user-unreserved), without %-escapes. */
const NAME = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]{1,64}$/;
/** A realm is sent as a quoted-string (§25.1): keep it printable, no space, quote or backslash. */
const REALM = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

export function isValidUserName(name: string): boolean {
  return NAME.test(name);
}
export function isValidRealm(realm: string): boolean {
  return REALM.test(realm);
}

/** Throws the one-line error for a realm that cannot be written as a quoted-string. */
export function checkRealm(realm: string): void {
  if (!isValidRealm(realm)) throw new Error(`bad realm ${JSON.stringify(realm)}: use 1-128 printable characters without spaces, quotes or backslashes`);
}

/** The line for a user: both HA1s computed from the password (which goes no further). */
export function makeUserEntry(name: string, realm: string, password: string): UserEntry {
  return { name, realm, md5: ha1('MD5', name, realm, password), sha256: ha1('SHA-256', name, realm, password) };
}

export function formatUserLine(u: UserEntry): string {
  return `${u.name} ${u.realm} ${u.md5} ${u.sha256}`;
}

/** One line: an entry, null for a comment or blank line; throws a one-line Error when malformed. */
function parseLine(line: string, lineNo: number): UserEntry | null {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return null;
  const f = t.split(/\s+/);
  const bad = (why: string) => new Error(`users file line ${lineNo}: ${why}`);
  if (f.length !== 4) throw bad(`expected "NAME REALM MD5_HA1 SHA256_HA1", got ${f.length} field${f.length === 1 ? '' : 's'}`);
  const [name, realm, md5, sha256] = f as [string, string, string, string];
  if (!isValidUserName(name)) throw bad(`bad user name ${JSON.stringify(name)}`);
  if (!isValidRealm(realm)) throw bad(`bad realm ${JSON.stringify(realm)}`);
  if (!/^[0-9a-fA-F]{32}$/.test(md5)) throw bad('the MD5 HA1 must be 32 hex digits');
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw bad('the SHA-256 HA1 must be 64 hex digits');
  // HA1 enters the response hash as lower-case hex (RFC 7616 §3.4.1 "LHEX"), so normalise it.
  return { name, realm, md5: md5.toLowerCase(), sha256: sha256.toLowerCase() };
}

/** Parses the users file's text; a name+realm given twice is an error (which line would win?). */
export function parseUsers(text: string): Users {
  const users: Users = new Map();
  text.split(/\r?\n/).forEach((line, i) => {
    const u = parseLine(line, i + 1);
    if (!u) return;
    const list = users.get(u.name) ?? [];
    if (list.some((e) => e.realm === u.realm)) throw new Error(`users file line ${i + 1}: user ${u.name} in realm ${u.realm} is listed twice`);
    list.push(u);
    users.set(u.name, list);
  });
  return users;
}

export function loadUsers(file: string): Users {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read users file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseUsers(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The entry for `name` in `realm`, if any. */
export function findUser(users: Users, name: string, realm: string): UserEntry | undefined {
  return users.get(name)?.find((e) => e.realm === realm);
}

/**
 * Writes `u` into the users file: replaces the line of the same name+realm in place, or appends.
 * Other lines (comments included) are kept as they are. The whole file is checked first, so a
 * malformed file is reported, not rewritten. The new content goes to a temporary file that is
 * renamed over the old one (never a half-written users file); a new file gets mode 0600, an
 * existing one keeps its mode.
 */
export function upsertUser(file: string, u: UserEntry): 'added' | 'replaced' {
  const exists = existsSync(file);
  const old = exists ? readFileSync(file, 'utf8') : '';
  try {
    parseUsers(old);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const lines = old === '' ? [] : old.replace(/\r?\n$/, '').split(/\r?\n/);
  const i = lines.findIndex((l) => {
    const f = l.trim().split(/\s+/);
    return !l.trim().startsWith('#') && f[0] === u.name && f[1] === u.realm;
  });
  if (i >= 0) lines[i] = formatUserLine(u);
  else lines.push(formatUserLine(u));
  const mode = exists ? statSync(file).mode & 0o777 : 0o600;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  chmodSync(tmp, mode); // the umask cannot widen 0600, but an existing file's own mode is restored
  renameSync(tmp, file);
  return i >= 0 ? 'replaced' : 'added';
}

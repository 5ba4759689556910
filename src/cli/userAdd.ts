import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkRealm, isValidUserName, loadUsers, makeUserEntry, upsertUser } from '../auth/users.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { chooseHost, listCandidates } from './netif.js';

const USAGE_LINE = 'sipstate user add NAME [--users FILE] [--realm REALM | --domain NAME | --host IP]';

export const USER_USAGE = `Usage: ${USAGE_LINE}

  Asks for NAME's password twice without echo (or reads one line from stdin when it is not a
  terminal) and writes "NAME REALM MD5_HA1 SHA256_HA1" to the users file, replacing the line of
  the same name and realm. The password itself is never stored or printed. The proxy reads the
  file at start (--users FILE) and again whenever it changes.

  --users FILE    users file (default ./users.txt; created with mode 0600)
  --realm REALM   digest realm; it is part of the stored hashes, so it must be the proxy's realm.
                  Default: the proxy's, worked out from the same flags as the proxy's: the first
                  --domain NAME, else --host IP, else the address \`sipstate\` would listen on
`;

/** `sipstate user ...`: only `add` for now. */
export async function runUser(argv: string[]): Promise<number> {
  if (argv[0] === '-h' || argv[0] === '--help') {
    process.stdout.write(USER_USAGE);
    return 0;
  }
  if (argv[0] !== 'add') throw new Error(`usage: ${USAGE_LINE}`);
  return runUserAdd(argv.slice(1));
}

export async function runUserAdd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      realm: { type: 'string' },
      users: { type: 'string' },
      domain: { type: 'string', multiple: true },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USER_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new Error(`usage: ${USAGE_LINE}`);
  const name = positionals[0]!;
  const realm = values.realm ?? proxyRealm(values.host, values.domain ?? []);
  const file = values.users ?? 'users.txt';
  if (!isValidUserName(name)) throw new Error(`bad user name ${JSON.stringify(name)}: use 1-64 letters, digits or - _ . ! ~ * ' ( ) & = + $ , ; ? /`);
  checkRealm(realm);
  if (existsSync(file)) loadUsers(file); // a broken file is reported before the password is asked for

  const password = await readPassword(`password for ${name} (realm ${realm}): `);
  if (password === '') throw new Error('empty password: nothing written');
  const what = upsertUser(file, makeUserEntry(name, realm, password));
  process.stdout.write(`${what} user ${name} in realm ${realm} ${what === 'added' ? 'to' : 'in'} ${file}\n`);
  return 0;
}

/** The realm the proxy uses without --realm: its domain (LocalIdentity.domain), with the host it would choose. */
function proxyRealm(host: string | undefined, domains: string[]): string {
  return new LocalIdentity({ host: host ?? chooseHost(listCandidates()), port: 5060, domains }).domain;
}

/** From a terminal: twice, without echo. Otherwise: the first line of stdin. */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return readFirstLine(process.stdin);
  const first = await readHidden(prompt);
  if (first === '') return first;
  const again = await readHidden('again, to confirm: ');
  if (again !== first) throw new Error('the passwords do not match: nothing written');
  return first;
}

/** Reads up to the first line end (or the end of input), at most 4 KiB; the line end is not part of it. */
function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, line?: Buffer) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', done);
      input.pause();
      if (err) reject(err);
      else resolve(line!.toString('utf8').replace(/\r$/, ''));
    };
    const onData = (d: Buffer | string) => {
      buf = Buffer.concat([buf, typeof d === 'string' ? Buffer.from(d) : d]);
      const nl = buf.indexOf(10);
      if (nl >= 0) done(null, buf.subarray(0, nl));
      else if (buf.length > 4096) done(new Error('the password line is longer than 4 KiB'));
    };
    const onEnd = () => done(null, buf);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', done);
    input.resume();
  });
}

/** Line editing for a hidden prompt: printable characters, backspace, Ctrl-U; Enter ends, Ctrl-C / Ctrl-D cancel. */
export function applyKeys(text: string, chunk: string): { text: string; end: 'enter' | 'cancel' | null } {
  const chars = Array.from(chunk);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\r' || c === '\n') return { text, end: 'enter' };
    if (c === '\x03' || (c === '\x04' && text === '')) return { text, end: 'cancel' };
    if (c === '\x7f' || c === '\b') text = Array.from(text).slice(0, -1).join('');
    else if (c === '\x15') text = '';
    else if (c === '\x1b') {
      // an escape sequence (arrow keys, bracketed paste markers): skip it
      if (chars[i + 1] === '[' || chars[i + 1] === 'O') for (i += 2; i < chars.length && !/[@-~]/.test(chars[i]!); i++);
    } else if (c >= ' ') text += c;
  }
  return { text, end: null };
}

/** One line from the terminal in raw mode, so nothing typed is echoed. */
function readHidden(prompt: string): Promise<string> {
  const tty = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer | string) => {
      const r = applyKeys(text, d.toString());
      text = r.text;
      if (r.end === null) return;
      tty.off('data', onData);
      tty.setRawMode(false);
      tty.pause();
      process.stderr.write('\n');
      if (r.end === 'cancel') reject(new Error('cancelled: nothing written'));
      else resolve(text);
    };
    tty.setRawMode(true);
    tty.setEncoding('utf8');
    tty.on('data', onData);
    tty.resume();
  });
}

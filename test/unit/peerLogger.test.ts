import test from 'ava';
import { Logger, type LogLevel } from '../../src/util/logger.js';
import { LINE_MAX, PeerLogger, kindOf } from '../../src/util/peerLogger.js';

/** A PeerLogger writing into an array, on a clock the test moves; `fire()` runs the summary timers due. */
function captured(level: LogLevel = 'info') {
  const lines: string[] = [];
  const clock = { now: 0 };
  const timers: Array<() => void> = [];
  const log = new PeerLogger(level, '', {
    sink: (line) => lines.push(line),
    now: () => clock.now,
    later: (fn) => timers.push(fn),
  });
  const fire = () => {
    for (const fn of timers.splice(0)) fn();
  };
  return { log, lines, clock, fire };
}

test('a flood of 100,000 bad datagrams logs 10 lines and one summary that counts the rest', (t) => {
  const { log, lines, clock, fire } = captured();
  for (let i = 0; i < 100_000; i++) log.warn(`bad message from 203.0.113.${i % 250}:5060: malformed request line: ${'x'.repeat(5000)}`);
  clock.now = 10_000;
  fire();
  t.is(lines.length, 11);
  t.true(lines.join('').length < 11 * (LINE_MAX + 30), `${lines.join('').length} bytes`);
  t.is(lines[10], 'warn: bad message from … 99,990 more like this in the last 10 s suppressed (at most 10 a second)\n');
});

test('each kind (a call site\'s fixed words) has its own limit; infos too; debug, asked for, is not limited', (t) => {
  const { log, lines } = captured('debug');
  for (let i = 0; i < 50; i++) {
    log.warn(`bad request from 192.0.2.1:${i}: missing Via`);
    log.warn(`rejected INVITE from 192.0.2.1:${i}: 483 Too Many Hops`);
    log.info(`authentication failed from 192.0.2.1 for u${i}: wrong password`);
    log.debug(`no ACK for ${i}`);
  }
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  t.is(count(/^warn: bad request from/), 10);
  t.is(count(/^warn: rejected/), 10);
  t.is(count(/^authentication failed/), 10);
  t.is(count(/^debug: no ACK/), 50);
});

test('summaries wait no longer than the stop: close() writes them', (t) => {
  const { log, lines } = captured();
  for (let i = 0; i < 25; i++) log.warn(`socket: getaddrinfo ENOTFOUND host${i}.invalid`);
  log.close();
  t.is(lines.at(-1), 'warn: socket … 15 more like this in the last 1 s suppressed (at most 10 a second)\n');
});

test('a line is made printable and cut: a peer\'s CR LF does not start a line of its own', (t) => {
  const { log, lines } = captured();
  log.warn(`bad message from 192.0.2.1:5060: malformed header line: X\r\nerror: forged ${'y'.repeat(1000)}`);
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^warn: bad message from 192\.0\.2\.1:5060: malformed header line: X\\r\\nerror: forged y+… \(1073 chars\)\n$/);
  t.is(lines[0]!.length, 'warn: '.length + LINE_MAX + '… (1073 chars)\n'.length);
});

test('a level turned off is not counted: a flood at --log-level error costs no summary', (t) => {
  const { log, lines, fire } = captured('error');
  for (let i = 0; i < 1000; i++) log.warn(`bad message from 192.0.2.1:${i}: empty`);
  fire();
  log.close();
  t.deepEqual(lines, []);
});

test('an error a datagram sets off (a bug) is limited as well, its summary an error line', (t) => {
  const { log, lines } = captured();
  for (let i = 0; i < 30; i++) log.error(`dropped a message from 192.0.2.1:${i}: TypeError: x is undefined`);
  log.close();
  t.is(lines.length, 11);
  t.is(lines[10], 'error: dropped a message from … 20 more like this in the last 1 s suppressed (at most 10 a second)\n');
});

test('the plain Logger, for the proxy\'s own trouble, holds nothing back', (t) => {
  const lines: string[] = [];
  const log = new Logger('info', '', (line) => lines.push(line));
  for (let i = 0; i < 100; i++) log.error(`journal: write failed (ENOSPC); ${i}`);
  t.is(lines.length, 100);
});

test('the kind is the leading lower-case words: never an address, a method or a peer\'s text', (t) => {
  t.is(kindOf('bad message from 127.0.0.1:5060: empty'), 'bad message from');
  t.is(kindOf('bad message from [::1]:5060: empty'), 'bad message from');
  t.is(kindOf('rejected SUBSCRIBE from 127.0.0.1:5060: 483'), 'rejected');
  t.is(kindOf('socket: getaddrinfo EINVAL hhhh'), 'socket');
  t.is(kindOf('banned 203.0.113.9 until 2025-01-01T00:00:00.000Z (request flood)'), 'banned');
  t.is(kindOf('Anything: else'), 'other');
  t.is(kindOf('a'.repeat(5000)), 'a'.repeat(40));
});

/**
 * A request with one malformed header line (RFC 3261 §7.3.1: field-name ":" value) is answered 400
 * naming the line (§21.4.1) when the headers a response copies (§8.2.6.2) parsed, and dropped
 * otherwise; a response or an ACK with one is dropped.
 */
import test from 'ava';
import { parseDatagram } from '../../src/sip/parser.js';
import { getHeader } from '../../src/sip/message.js';
import { datagram, inProcessProxy, PROXY } from '../helpers/inProcessProxy.js';

const PHONE = { host: '10.0.0.1', port: 5062 };

interface Variant {
  method?: string;
  /** Drops the header line that starts so. */
  without?: string;
  startLine?: string;
  contentLength?: string;
}

/** An INVITE (or `method`) from PHONE with `bad` as its first header line. */
const withBadLine = (bad: string, opts: Variant = {}): Buffer => datagram(lines(bad, opts));

function lines(bad: string, opts: Variant): string[] {
  const method = opts.method ?? 'INVITE';
  const headers = [
    bad,
    `Via: SIP/2.0/UDP ${PHONE.host}:${PHONE.port};branch=z9hG4bK-bad-${method};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${PROXY.host}>;tag=a1`,
    `To: <sip:bob@${PROXY.host}>`,
    'Call-ID: malformed-1',
    `CSeq: 1 ${method}`,
    `Content-Length: ${opts.contentLength ?? '0'}`,
  ].filter((l) => !opts.without || !l.startsWith(opts.without));
  return [opts.startLine ?? `${method} sip:bob@${PROXY.host} SIP/2.0`, ...headers];
}

/** Each bad line and how the error (and so the 400's reason phrase) names it: printable, %HH for the rest (§25.1). */
const BAD_LINES: Array<[string, string]> = [
  ['ThisLineHasNoColon', 'ThisLineHasNoColon'],
  ['Sub ject: x', 'Sub ject: x'],
  ['Sub\0ject: x', 'Sub%00ject: x'],
  ['Sub\xe9ject: x', 'Sub%EF%BF%BDject: x'], // a lone 0xE9 byte is no UTF-8: read as U+FFFD
  [': no name', ': no name'],
  ['100% \x7f', '100%25 %7F'],
];

test('a request with a malformed header line fails to parse but is kept to answer, the line named printably', (t) => {
  for (const [bad, named] of BAD_LINES) {
    const r = parseDatagram(withBadLine(bad));
    if (r.ok) return t.fail(`${JSON.stringify(bad)} parsed`);
    t.is(r.error, `malformed header line: ${named}`);
    t.is(r.request?.method, 'INVITE', JSON.stringify(bad));
    // The lines after the bad one are read: what the 400 copies is there.
    t.is(getHeader(r.request!, 'call-id'), 'malformed-1');
    t.is(getHeader(r.request!, 'cseq'), '1 INVITE');
  }
});

test('the named line is short and printable however long it is or whatever bytes it holds', (t) => {
  const bad = `X-Huge\x01\x02${'\x00\x1b[31m'.repeat(4000)}${'y'.repeat(60_000)}`;
  const r = parseDatagram(withBadLine(bad));
  if (r.ok) return t.fail('parsed');
  t.truthy(r.request);
  t.regex(r.error, /^malformed header line: X-Huge%01%02%00%1B\[31m/);
  t.regex(r.error, /^[\x20-\x7e]+$/);
  t.true(r.error.length <= 'malformed header line: '.length + 63, `${r.error.length} characters`);
  // The same for the other errors a 400 names: a Content-Length with a control byte.
  const cl = parseDatagram(withBadLine('X-Fine: yes', { contentLength: '0\x07' }));
  if (cl.ok) return t.fail('a Content-Length with a BEL parsed');
  t.is(cl.error, 'malformed Content-Length: 0%07');
});

test('malformed lines count towards the header-line limit, so a datagram of them is read no further than one of headers', (t) => {
  const [startLine, ...headers] = lines('junk', {});
  const many = datagram([startLine!, ...Array.from({ length: 19 }, () => 'junk'), ...headers]);
  const r = parseDatagram(many, { maxHeaderLines: 8 });
  if (r.ok) return t.fail('parsed');
  t.is(r.request, undefined, 'the headers after the limit were not read');
  t.regex(r.error, /^malformed header line: junk; not answered: /);
  const within = parseDatagram(many, { maxHeaderLines: 64 });
  t.truthy(!within.ok && within.request, 'within the limit they are read');
});

test('with the headers a response copies missing, or in a response, a malformed line leaves nothing to answer', (t) => {
  for (const without of ['Call-ID', 'CSeq', 'Via', 'From', 'To']) {
    const r = parseDatagram(withBadLine('Oops', { without }));
    if (r.ok) return t.fail(`without ${without}: parsed`);
    t.is(r.request, undefined, `without ${without}`);
    t.regex(r.error, /^malformed header line: Oops; not answered: /);
  }
  // The bad line is the Call-ID itself.
  const noCallId = parseDatagram(withBadLine('Call ID: x', { without: 'Call-ID' }));
  t.false(noCallId.ok);
  t.is(!noCallId.ok && noCallId.request, undefined);
  const response = parseDatagram(withBadLine('Oops', { startLine: 'SIP/2.0 180 Ringing' }));
  if (response.ok) return t.fail('a response with a malformed line parsed');
  t.is(response.error, 'malformed header line: Oops');
  t.false('request' in response);
});

test('the proxy answers it 400 naming the line, to the Via\'s address, and keeps nothing (§21.4.1)', (t) => {
  const c = inProcessProxy(t);
  c.from(PHONE, withBadLine('Sub\0ject: x'));
  const sent = c.net.take(PHONE);
  t.is(sent.length, 1);
  const res = sent[0]!;
  if (res.kind !== 'response') return t.fail('no response');
  t.is(res.status, 400);
  t.is(res.reason, 'Bad Request (malformed header line: Sub%00ject: x)');
  t.is(getHeader(res, 'call-id'), 'malformed-1');
  t.is(getHeader(res, 'cseq'), '1 INVITE');
  t.regex(getHeader(res, 'to')!, /;tag=/);
  t.deepEqual(c.net.unparseable, []);
  const s = c.sup.stats();
  t.is(s.badMessages, 1);
  t.is(s.serverTransactions + s.clientTransactions + s.calls + s.relays, 0);
  t.is(s.internalErrors, 0);
});

test('an ACK, a response or a request the 400 could not be built for is dropped', (t) => {
  const c = inProcessProxy(t);
  c.from(PHONE, withBadLine('Oops', { method: 'ACK' }));
  c.from(PHONE, withBadLine('Oops', { startLine: 'SIP/2.0 200 OK' }));
  c.from(PHONE, withBadLine('Oops', { without: 'CSeq' }));
  t.deepEqual(c.net.sent, []);
  t.deepEqual(c.warnings, [
    'bad message from 10.0.0.1:5062: malformed header line: Oops',
    'bad message from 10.0.0.1:5062: malformed header line: Oops',
    'bad message from 10.0.0.1:5062: malformed header line: Oops; not answered: missing or malformed CSeq',
  ]);
  t.is(c.sup.stats().badMessages, 3);
  t.is(c.sup.stats().internalErrors, 0);
});

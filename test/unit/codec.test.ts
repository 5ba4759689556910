import test from 'ava';
import { parseDatagram } from '../../src/sip/parser.js';
import { packResponse, serialize } from '../../src/sip/serializer.js';
import { heapGrowthOf } from '../helpers/heapGrowth.js';
import { internedHosts, internHost } from '../../src/sip/hostIntern.js';
import { getHeader, getHeaderValues, withoutFirstValue, type SipMessage } from '../../src/sip/message.js';
import { splitList } from '../../src/sip/split.js';
import { parseUri, formatUri } from '../../src/sip/uri.js';
import { parseNameAddr, formatNameAddr } from '../../src/sip/nameAddr.js';
import { parseVia } from '../../src/sip/via.js';
import { messageInfo } from '../../src/sip/info.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

const INVITE = crlf(`INVITE sip:bob@biloxi.com SIP/2.0
v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds, SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKold
Max-Forwards: 70
t: Bob <sip:bob@biloxi.com>
f: "Alice, \\"the\\" caller" <sip:alice@atlanta.com>;tag=1928301774
i: a84b4c76e66710@pc33.atlanta.com
CSeq: 314159 INVITE
m: <sip:alice@pc33.atlanta.com>
X-Custom:  kept   as is
Subject: folded
 over two lines
c: application/sdp
l: 4

v=0
`);

function parsed(buf: Buffer): SipMessage {
  const r = parseDatagram(buf);
  if (!r.ok) throw new Error(r.error);
  return r.message;
}

test('parses a request with compact headers, folding and a body', (t) => {
  const m = parsed(INVITE);
  t.is(m.kind, 'request');
  if (m.kind !== 'request') return;
  t.is(m.method, 'INVITE');
  t.is(m.uri, 'sip:bob@biloxi.com');
  t.is(getHeader(m, 'call-id'), 'a84b4c76e66710@pc33.atlanta.com');
  t.is(getHeader(m, 'subject'), 'folded over two lines');
  t.is(getHeader(m, 'x-custom'), 'kept   as is');
  t.deepEqual(getHeaderValues(m, 'via').length, 2);
  t.is(m.body.toString(), 'v=0\r');
  t.is(m.body.length, 4);
  const info = messageInfo(m);
  t.true(info.ok);
  if (info.ok) {
    t.is(info.info.branch, 'z9hG4bK776asdhds');
    t.is(info.info.fromTag, '1928301774');
    t.is(info.info.toTag, null);
    t.deepEqual(info.info.cseq, { seq: 314159, method: 'INVITE' });
  }
});

test('header names are case-insensitive and compact forms alias the long ones', (t) => {
  const m = parsed(crlf('OPTIONS sip:x@y SIP/2.0\nCALL-ID: abc\nvIa: SIP/2.0/UDP h;branch=z9hG4bK1\nI: def\n\n'));
  t.deepEqual(getHeaderValues(m, 'call-id'), ['abc', 'def']);
  t.is(getHeaderValues(m, 'via').length, 1);
});

test('commas inside quotes and angle brackets do not split values', (t) => {
  t.deepEqual(splitList('"Doe, John" <sip:j@x;p=a,b>;q=0.5, <sip:k@y>'), ['"Doe, John" <sip:j@x;p=a,b>;q=0.5', '<sip:k@y>']);
  t.deepEqual(splitList(' a ,, b '), ['a', 'b']);
});

test('parses responses and serializes back with a true Content-Length', (t) => {
  const m = parsed(crlf('SIP/2.0 180 Zvonim\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 0\n\n'));
  t.is(m.kind, 'response');
  if (m.kind === 'response') {
    t.is(m.status, 180);
    t.is(m.reason, 'Zvonim');
  }
  t.is(serialize(m).toString(), 'SIP/2.0 180 Zvonim\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n');
});

test('serialize(parse(x)) keeps every header and the body', (t) => {
  const m = parsed(INVITE);
  const again = parsed(serialize(m));
  t.deepEqual(again.headers.map((h) => [h.key, h.value]), m.headers.map((h) => [h.key, h.value]));
  t.deepEqual(again.body, m.body);
});

test('a packed response is sent as the same bytes and keeps its status and reason', (t) => {
  const text = crlf('SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.168.100.101:5060;branch=z9hG4bK7\nTo: <sip:b@h>;tag=9\nContent-Type: text/plain\nContent-Length: 2\n\nhi');
  const m = parsed(text);
  if (m.kind !== 'response') return t.fail();
  const packed = packResponse(m);
  t.deepEqual(serialize(packed), serialize(m));
  t.is(packed.status, 200);
  t.is(packed.reason, 'OK');
});

test('a kept host is the same text from a table bounded by count and length', (t) => {
  const text = 'Via: SIP/2.0/UDP 192.168.100.101:5060';
  t.is(internHost(text.slice(17, 32)), '192.168.100.101');
  t.is(internHost(`192.168.100.${101}`), '192.168.100.101');
  for (let i = 0; i < 10_000; i++) internHost(`10.${i >> 8}.${i & 255}.1`);
  const long = 'h'.repeat(60_000);
  t.is(internHost(long), long);
  const held = internedHosts();
  t.true(held.count <= 4096, `${held.count} hosts kept`);
  t.true(held.chars <= 4096 * 255, `${held.chars} characters kept`);
});

test('a kept host does not keep the text it was cut from', (t) => {
  const kept: string[] = [];
  const grew = heapGrowthOf(() => {
    for (let i = 0; i < 64; i++) {
      // A megabyte of message text with a LAN address in it; only the address is kept.
      const text = `Via: SIP/2.0/UDP 192.168.${i}.200:5060;branch=z9hG4bK${'x'.repeat(1 << 20)}`;
      kept.push(internHost(text.slice(17, 17 + `192.168.${i}.200`.length)));
    }
  });
  t.is(kept[5], '192.168.5.200');
  t.true(grew < 16 << 20, `the heap grew by ${(grew / 2 ** 20).toFixed(1)} MiB for 64 kept hosts`);
});

test('Content-Length framing on a datagram: extra bytes dropped, missing bytes an error', (t) => {
  const extra = parsed(crlf('MESSAGE sip:a@b SIP/2.0\nContent-Length: 2\n\nhello'));
  t.is(extra.body.toString(), 'he');
  const r = parseDatagram(crlf('MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 50\n\nhello'));
  t.false(r.ok);
  if (!r.ok) {
    t.regex(r.error, /Content-Length 50/);
    t.truthy(r.request, 'the request is still available so a 400 can be sent');
  }
  const noLength = parsed(crlf('MESSAGE sip:a@b SIP/2.0\n\nhello'));
  t.is(noLength.body.toString(), 'hello');
});

test('rejects malformed start lines and header lines without throwing', (t) => {
  for (const s of ['', '\r\n\r\n', 'HELLO\r\n\r\n', 'INVITE sip:a@b SIP/3.0\r\n\r\n', 'SIP/2.0 99 x\r\n\r\n', 'INVITE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n', 'INVITE sip:a@b SIP/2.0\r\nVia: x']) {
    t.false(parseDatagram(Buffer.from(s)).ok, JSON.stringify(s));
  }
});

test('accepts bare LF line ends', (t) => {
  const m = parsed(Buffer.from('BYE sip:a@b SIP/2.0\nCall-ID: x\n\n'));
  t.is(getHeader(m, 'call-id'), 'x');
});

test('SIP URIs: user, password, host, port, parameters, headers, IPv6', (t) => {
  const u = parseUri('sips:alice:secret@Atlanta.com:5061;transport=tcp;lr?subject=project&priority=urgent')!;
  t.like(u, { scheme: 'sips', user: 'alice', password: 'secret', host: 'Atlanta.com', port: 5061, headers: 'subject=project&priority=urgent' });
  t.deepEqual(u.params, [['transport', 'tcp'], ['lr', null]]);
  t.is(formatUri(u), 'sips:alice:secret@Atlanta.com:5061;transport=tcp;lr?subject=project&priority=urgent');
  const v6 = parseUri('sip:bob@[2001:db8::1]:5070')!;
  t.is(v6.host, '[2001:db8::1]');
  t.is(v6.port, 5070);
  t.is(parseUri('sip:+1-212-555-1212:1234@gateway.com;user=phone')!.user, '+1-212-555-1212');
  t.is(parseUri('tel:+123'), null);
  t.is(parseUri('sip:a@b:99999'), null);
  t.is(parseUri('sip:a@'), null);
});

test('name-addr and addr-spec forms with header parameters', (t) => {
  const a = parseNameAddr('"Bob Smith" <sip:bob@biloxi.com;transport=udp>;tag=a6c85cf')!;
  t.is(a.displayName, '"Bob Smith"');
  t.is(a.uriText, 'sip:bob@biloxi.com;transport=udp');
  t.deepEqual(a.params, [['tag', 'a6c85cf']]);
  t.is(formatNameAddr(a), '"Bob Smith" <sip:bob@biloxi.com;transport=udp>;tag=a6c85cf');
  const b = parseNameAddr('sip:carol@chicago.com;tag=887s')!;
  t.is(b.uriText, 'sip:carol@chicago.com');
  t.deepEqual(b.params, [['tag', '887s']]);
  t.false(b.angle);
});

test('Via: protocol, sent-by and parameters', (t) => {
  const v = parseVia('SIP / 2.0 / UDP 10.0.0.1:5060 ;branch=z9hG4bK1;rport;received=1.2.3.4')!;
  t.like(v, { transport: 'UDP', host: '10.0.0.1', port: 5060 });
  t.deepEqual(v.params, [['branch', 'z9hG4bK1'], ['rport', null], ['received', '1.2.3.4']]);
  t.is(parseVia('SIP/2.0/UDP'), null);
});

test('removing the top Via keeps the others on a shared line', (t) => {
  const m = parsed(INVITE);
  const rest = withoutFirstValue(m.headers, 'via');
  t.deepEqual(getHeaderValues({ headers: rest, body: m.body }, 'via'), ['SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKold']);
});

test('header names: compact and long forms keep their written name and key; past the 512 names the shared table keeps, new names still parse', (t) => {
  const a = parsed(INVITE);
  const via = a.headers.find((h) => h.key === 'via')!;
  t.deepEqual([via.name, via.key], ['v', 'via']);
  // 600 invented names over three messages (at most 256 lines each): more than the table keeps.
  for (let round = 0; round < 3; round++) {
    const invented = Array.from({ length: 200 }, (_, i) => `X-Invented-${round}-${i}: ${i}`).join('\n');
    const m = parsed(crlf(`OPTIONS sip:bob@biloxi.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n${invented}\nContent-Length: 0\n\n`));
    t.is(m.headers.length, 202);
    t.is(getHeader(m, `x-invented-${round}-199`), '199');
    t.is(m.headers[1]!.name, `X-Invented-${round}-0`);
    t.is(m.headers[201]!.key, 'content-length');
  }
  // A name that is no token is refused, known or not.
  t.false(parseDatagram(crlf('OPTIONS sip:b@c SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nBad Name: x\n\n')).ok);
  t.deepEqual(parsed(INVITE).headers.map((h) => h.name), a.headers.map((h) => h.name));
});

test('a header line keeps no CR in its value, with CRLF or bare LF line ends', (t) => {
  for (const eol of ['\r\n', '\n']) {
    const m = parsed(Buffer.from(['OPTIONS sip:b@c SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'Subject:  two  ', '  lines ', 'Content-Length: 0', '', ''].join(eol)));
    t.is(getHeader(m, 'subject'), 'two lines');
    t.is(getHeader(m, 'content-length'), '0');
  }
});

test('a header folded over thousands of lines unfolds to one SP between pieces; whitespace-only lines add nothing (§7.3.1)', (t) => {
  const folds = Array.from({ length: 5000 }, (_, i) => (i % 2 ? '\t y' : '   \t')).join('\r\n');
  const r = parseDatagram(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nSubject: a \r\n${folds}\r\n x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n`));
  t.true(r.ok);
  if (r.ok) t.is(getHeader(r.message, 'subject'), ['a', ...Array.from({ length: 2500 }, () => 'y'), 'x'].join(' '));
});

import test from 'ava';
import fc from 'fast-check';
import { parseDatagram } from '../../src/sip/parser.js';
import { serialize } from '../../src/sip/serializer.js';
import { getHeaderValues, type SipMessage } from '../../src/sip/message.js';
import { parseUri, formatUri } from '../../src/sip/uri.js';

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9\-.!%*_+`'~]{0,12}$/);
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/);
const host = fc.oneof(fc.domain(), fc.ipV4());
const uri = fc.record({ user: fc.option(fc.stringMatching(/^[a-z0-9]{1,10}$/), { nil: null }), host, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }) })
  .map(({ user, host: h, port }) => `sip:${user ? `${user}@` : ''}${h}${port ? `:${port}` : ''}`);

const request = fc.record({
  method: fc.constantFrom('INVITE', 'BYE', 'OPTIONS', 'MESSAGE', 'REGISTER', 'SUBSCRIBE'),
  uri,
  headers: fc.array(fc.tuple(token, value), { maxLength: 12 }),
  vias: fc.array(fc.tuple(host, fc.stringMatching(/^[a-zA-Z0-9]{1,10}$/)), { minLength: 1, maxLength: 4 }),
  body: fc.uint8Array({ maxLength: 200 }),
}).map(({ method, uri: u, headers, vias, body }) => {
  const lines = [`${method} ${u} SIP/2.0`];
  lines.push(`Via: ${vias.map(([h, b]) => `SIP/2.0/UDP ${h};branch=z9hG4bK${b}`).join(', ')}`);
  for (const [n, v] of headers) if (!/^(l|content-length|v|via)$/i.test(n)) lines.push(`${n}: ${v}`);
  lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(body)]);
});

function meaning(m: SipMessage) {
  return {
    start: m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason],
    headers: m.headers.filter((h) => h.key !== 'content-length').map((h) => [h.key, h.value]),
    vias: getHeaderValues(m, 'via'),
    body: m.body.toString('hex'),
  };
}

test('serialize(parse(x)) keeps the meaning of any well-formed request', (t) => {
  fc.assert(
    fc.property(request, (buf) => {
      const a = parseDatagram(buf);
      if (!a.ok) throw new Error(`valid message rejected: ${a.error}`);
      const b = parseDatagram(serialize(a.message));
      if (!b.ok) throw new Error(`serialized message rejected: ${b.error}`);
      t.deepEqual(meaning(b.message), meaning(a.message));
    }),
    { numRuns: 500 },
  );
});

test('parse never throws, whatever the bytes', (t) => {
  const mutated = fc.tuple(request, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat()).map(([buf, edits, cut]) => {
    const b = Buffer.from(buf);
    for (const [pos, byte] of edits) b[pos % b.length] = byte;
    return b.subarray(0, Math.max(1, cut % (b.length + 1)));
  });
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), mutated), (buf) => {
    const r = parseDatagram(buf);
    // parseDatagram turns an exception into "unparseable: ..."; none may happen.
    t.false(!r.ok && r.error.startsWith('unparseable'), !r.ok ? r.error : '');
  }), { numRuns: 3000 });
});

test('formatUri(parseUri(u)) is u for generated SIP URIs', (t) => {
  fc.assert(fc.property(uri, (u) => {
    const p = parseUri(u);
    t.truthy(p);
    t.is(formatUri(p!), u);
  }), { numRuns: 500 });
});

import test from 'ava';
import { printable } from '../../src/util/printable.js';

test('printable text within the bound comes back as it was', (t) => {
  t.is(printable('bad message from 127.0.0.1:5060: missing Call-ID', 200), 'bad message from 127.0.0.1:5060: missing Call-ID');
  t.is(printable('Zlá požiadavka ☎', 200), 'Zlá požiadavka ☎');
});

test('control characters are escaped, so a peer cannot forge a line or drive the terminal', (t) => {
  t.is(printable('x\r\nwarn: forged line', 200), 'x\\r\\nwarn: forged line');
  t.is(printable('\x1b[2J\x00\x07\tend\x7f', 200), '\\x1b[2J\\x00\\x07\\tend\\x7f');
  t.is(printable('nel\x85 csi\x9b', 200), 'nel\\x85 csi\\x9b');
  t.is(printable('line\u2028sep, rtl\u202eoverride, isolate\u2066', 200), 'line\\u2028sep, rtl\\u202eoverride, isolate\\u2066');
  t.is(printable('a\\nb', 200), 'a\\\\nb', 'a backslash in the text is told apart from an escape');
});

test('long text is cut with an ellipsis and its length; escapes count toward the bound', (t) => {
  const host = 'h'.repeat(5000) + '.invalid';
  t.is(printable(`getaddrinfo EINVAL ${host}`, 200), `getaddrinfo EINVAL ${'h'.repeat(181)}… (5027 chars)`);
  const controls = printable('\x01'.repeat(5000), 200);
  t.is(controls, `${'\\x01'.repeat(50)}… (5000 chars)`);
  t.false(/[\x00-\x1f]/.test(controls));
});

test('every input comes out printable and bounded', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    let x = seed;
    const codes = Array.from({ length: (seed * 37) % 700 }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) % 0x2100));
    const out = printable(String.fromCharCode(...codes), 100);
    t.true(out.length <= 100 + ' … (000 chars)'.length, `${out.length} chars`);
    t.false(/[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/.test(out), JSON.stringify(out));
  }
});

test('a cut does not split a surrogate pair', (t) => {
  t.is(printable('a' + '😀'.repeat(10), 4), 'a😀… (21 chars)');
});

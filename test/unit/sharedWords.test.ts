import test from 'ava';
import { sharedWord, sharedWordCount } from '../../src/sip/sharedWords.js';
import { parseDatagram } from '../../src/sip/parser.js';

test('shared words: methods and reason phrases read through the table, which stays bounded', (t) => {
  const req = parseDatagram(Buffer.from('BYE sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-a\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n'));
  const res = parseDatagram(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-a\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n'));
  t.true(req.ok && req.message.kind === 'request' && req.message.method === 'BYE');
  t.true(res.ok && res.message.kind === 'response' && res.message.reason === 'OK');
  t.is(sharedWord('BYE'), 'BYE');
  for (let i = 0; i < 2000; i++) sharedWord(`X-METHOD-${i}`);
  t.true(sharedWordCount() <= 512);
  // Past the bound, and for a word longer than any real one, the text is still returned intact.
  t.is(sharedWord('X-METHOD-NEW'), 'X-METHOD-NEW');
  const long = 'A'.repeat(100);
  t.is(sharedWord(long), long);
});

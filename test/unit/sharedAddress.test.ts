import test from 'ava';
import { MAX_SHARED_ADDRESSES, sharedAddress, sharedAddressCount, sharedDestination } from '../../src/transport/sharedAddress.js';
import { responseAddress } from '../../src/transport/viaAddressing.js';
import { parseVia } from '../../src/sip/via.js';
import { destinationOf } from '../../src/proxy/nextHop.js';
import { parseUri } from '../../src/sip/uri.js';

test('shared address: one object per host and port, another for another port', (t) => {
  const a = sharedAddress('192.0.2.10', 5060);
  t.is(sharedAddress('192.0.2.10', 5060), a);
  t.deepEqual(a, { host: '192.0.2.10', port: 5060 });
  t.not(sharedAddress('192.0.2.10', 5062), a);
  t.not(sharedAddress('192.0.2.11', 5060), a);
});

test('shared destination: one object per host, port and transport', (t) => {
  const udp = sharedDestination('192.0.2.20', 5060, 'udp');
  t.is(sharedDestination('192.0.2.20', 5060, 'udp'), udp);
  const tcp = sharedDestination('192.0.2.20', 5060, 'tcp');
  t.not(tcp, udp);
  t.deepEqual(tcp, { host: '192.0.2.20', port: 5060, transport: 'tcp' });
});

test('shared address: the reply addresses of two requests from one phone are one object (§18.2.2)', (t) => {
  const v1 = parseVia('SIP/2.0/UDP 192.0.2.30:5062;branch=z9hG4bK-1;rport=5062;received=192.0.2.30')!;
  const v2 = parseVia('SIP/2.0/UDP 192.0.2.30:5062;branch=z9hG4bK-2;rport=5062;received=192.0.2.30')!;
  t.is(responseAddress(v1), responseAddress(v2));
  const d1 = destinationOf(parseUri('sip:bob@192.0.2.31:5064')!);
  const d2 = destinationOf(parseUri('sip:alice@192.0.2.31:5064')!);
  t.is(d1, d2);
  t.not(destinationOf(parseUri('sip:bob@192.0.2.31:5064;transport=tcp')!), d1);
});

test('shared address: a flood of addresses only empties the tables, which stay bounded', (t) => {
  for (let i = 0; i < 10_000; i++) sharedAddress(`198.51.100.${i % 250}`, 10_000 + i);
  t.true(sharedAddressCount().addresses <= MAX_SHARED_ADDRESSES);
  // Still correct after the table was emptied.
  t.deepEqual(sharedAddress('198.51.100.1', 5060), { host: '198.51.100.1', port: 5060 });
});

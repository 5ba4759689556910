// SIP URI equality (RFC 3261 §19.1.4), with the RFC's own examples, and the digest-uri check
// built on it (RFC 2617 §3.2.2.5): a phone's uri with another case, parameter order or :5060.
import test from 'ava';
import { parseUri } from '../../src/sip/uri.js';
import { sameSipUri } from '../../src/sip/uriEquality.js';
import { sameUri } from '../../src/auth/authenticator.js';

const same = (a: string, b: string, o?: { defaultPort?: boolean }) => sameSipUri(parseUri(a)!, parseUri(b)!, o) && sameSipUri(parseUri(b)!, parseUri(a)!, o);

test('§19.1.4 equivalent URIs', (t) => {
  t.true(same('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
  t.true(same('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
  t.true(same('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5'));
  t.true(same('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'));
  t.true(same('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'));
});

test('§19.1.4 URIs that are not equivalent', (t) => {
  t.false(same('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'), 'user parts differ in case');
  t.false(same('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'), 'a port only in one');
  t.false(same('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'), 'a transport only in one');
  t.false(same('sip:bob@biloxi.com:6000;transport=tcp', 'sip:bob@biloxi.com:6000'));
  t.false(same('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'), 'headers are never ignored');
  t.false(same('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
  t.false(same('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'), 'a parameter in both must match');
  for (const p of ['user=phone', 'ttl=1', 'method=INVITE', 'maddr=239.255.255.1']) t.false(same('sip:a@b', `sip:a@b;${p}`), p);
  t.false(same('sip:a@b', 'sips:a@b'));
});

test('with defaultPort, a missing port is the scheme\'s default; another port still differs', (t) => {
  t.true(same('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060', { defaultPort: true }));
  t.false(same('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5062', { defaultPort: true }));
  t.true(same('sips:bob@biloxi.com', 'sips:bob@biloxi.com:5061', { defaultPort: true }));
});

test('digest uri against the Request-URI: case, parameter order and an added :5060 are the same resource', (t) => {
  t.true(sameUri('SIP:102@10.0.0.9:5060;User=Phone;transport=UDP', 'sip:102@10.0.0.9;transport=udp;user=phone'));
  t.true(sameUri('sip:10.0.0.9', 'sip:10.0.0.9:5060'));
  t.false(sameUri('sip:elsewhere', 'sip:10.0.0.9'));
  t.false(sameUri('sip:101@10.0.0.9', 'sip:10.0.0.9'));
  t.true(sameUri('tel:+421', 'tel:+421'), 'other schemes as text');
  t.false(sameUri('tel:+421', 'tel:+4212'));
});

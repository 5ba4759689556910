/**
 * Max-Forwards (RFC 3261 §20.22: 1*DIGIT, 0-255) is checked the same way for a request with a
 * server transaction (§16.3 step 3: 400 when invalid, 483 at 0) and for an ACK passed on without
 * one (dropped: an ACK is never answered); what goes on is always one less (§16.6 step 3).
 */
import test from 'ava';
import { parseMaxForwards } from '../../src/proxy/maxForwards.js';
import { validateRequest } from '../../src/proxy/validate.js';
import { buildForwardedRequest } from '../../src/proxy/forward.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { messageInfo } from '../../src/sip/info.js';
import { getHeader, type SipRequest } from '../../src/sip/message.js';
import { inProcessProxy, PROXY, register } from '../helpers/inProcessProxy.js';
import { msg } from '../helpers/messages.js';

const ALICE = { host: '10.0.0.1', port: 5060 };
const BOB = { host: '10.0.0.2', port: 5060 };
const INVALID = ['abc', '1.5', '1e3', '0x10', '256', '300', '999', '-1', '+5', '', '٣'];
const VALID: Array<[string, number]> = [['0', 0], ['1', 1], ['70', 70], ['255', 255], ['007', 7], ['000000000000000000070', 70]];

/** A request to bob (registered at BOB), with `mf` as its Max-Forwards (none when undefined); ACK and BYE in a dialog. */
function toBob(method: string, mf: string | undefined, n = 1): string[] {
  return [
    `${method} sip:bob@${PROXY.host} SIP/2.0`,
    `Via: SIP/2.0/UDP ${ALICE.host}:${ALICE.port};branch=z9hG4bK-mf-${method}-${n}`,
    ...(mf === undefined ? [] : [`Max-Forwards: ${mf}`]),
    `From: <sip:alice@${PROXY.host}>;tag=a1`,
    `To: <sip:bob@${PROXY.host}>${method === 'MESSAGE' ? '' : ';tag=b1'}`,
    `Call-ID: mf-${n}`,
    `CSeq: 1 ${method}`,
    'Content-Length: 0',
  ];
}

const request = (method: string, mf: string | undefined) => msg(`${toBob(method, mf).join('\n')}\n\n`) as SipRequest;
const me = new LocalIdentity(PROXY);

test('a Max-Forwards value is 1*DIGIT from 0 to 255, leading zeros allowed (§20.22)', (t) => {
  for (const [text, n] of VALID) t.is(parseMaxForwards(text), n, text);
  for (const text of INVALID) t.is(parseMaxForwards(text), -1, text);
});

test('validation: 400 for a value that is no Max-Forwards, 483 at 0, none passes (§16.3 step 3)', (t) => {
  const check = (mf: string | undefined) => {
    const r = request('MESSAGE', mf);
    const info = messageInfo(r);
    if (!info.ok) throw new Error(info.error);
    return validateRequest(r, info.info, me);
  };
  for (const mf of INVALID) t.deepEqual(check(mf), { status: 400, reason: 'Bad Request - Invalid Max-Forwards' }, mf);
  t.deepEqual(check('0'), { status: 483 });
  t.deepEqual(check('000'), { status: 483 });
  for (const mf of ['1', '007', '255', undefined]) t.is(check(mf), null, mf);
});

test('the Max-Forwards forwarded is one less, as an integer, or 70 when there was none (§16.6 step 3); a value validation refuses would go on as 0', (t) => {
  const forwarded = (mf: string | undefined) => getHeader(buildForwardedRequest(request('MESSAGE', mf), me, { branch: 'z9hG4bK-x', recordRoute: false }), 'max-forwards');
  t.is(forwarded('007'), '6');
  t.is(forwarded('255'), '254');
  t.is(forwarded('1'), '0');
  t.is(forwarded('000000000000000000070'), '69');
  t.is(forwarded(undefined), '70');
  // Validation keeps these from being forwarded; were one to slip through, it would stop at the next hop.
  for (const mf of INVALID) t.is(forwarded(mf), '0', mf);
});

test('an ACK without a transaction, to a registered user, goes on only with a valid Max-Forwards, one less; otherwise it is dropped and logged', (t) => {
  const c = inProcessProxy(t);
  register(c, BOB, 'bob', `sip:bob@${BOB.host}:${BOB.port}`);
  let n = 0;
  for (const mf of INVALID) {
    c.from(ALICE, toBob('ACK', mf, ++n));
    t.deepEqual(c.net.take(BOB), [], `Max-Forwards: ${mf} not passed on`);
    t.is(c.warnings.pop(), `dropped an ACK sent by ${ALICE.host}: Bad Request - Invalid Max-Forwards`, mf);
  }
  c.from(ALICE, toBob('ACK', '0', ++n));
  t.deepEqual(c.net.take(BOB), [], 'Max-Forwards: 0 not passed on');
  for (const [mf, next] of [['007', '6'], ['255', '254'], [undefined, '70']] as const) {
    c.from(ALICE, toBob('ACK', mf, ++n));
    const sent = c.net.take(BOB);
    t.is(sent.length, 1, `Max-Forwards: ${mf}`);
    t.is(getHeader(sent[0]!, 'max-forwards'), next);
  }
  t.deepEqual(c.net.take(ALICE), [], 'an ACK is never answered');
  t.deepEqual(c.warnings, []);
});

test('any other request with an invalid Max-Forwards is answered 400 and not passed on', (t) => {
  const c = inProcessProxy(t);
  register(c, BOB, 'bob', `sip:bob@${BOB.host}:${BOB.port}`);
  let n = 0;
  for (const method of ['MESSAGE', 'BYE', 'INVITE']) {
    for (const mf of ['1e3', '256']) {
      c.from(ALICE, toBob(method, mf, ++n));
      const answers = c.net.take(ALICE).filter((m) => m.kind === 'response' && m.status !== 100);
      t.deepEqual(answers.map((m) => m.kind === 'response' && `${m.status} ${m.reason}`), ['400 Bad Request - Invalid Max-Forwards'], `${method} with ${mf}`);
      t.deepEqual(c.net.take(BOB), []);
    }
  }
});

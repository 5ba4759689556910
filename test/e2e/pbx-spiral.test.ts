/**
 * A call that passes the real proxy twice with a record-routing PBX between (RFC 3261 §16.3 step 4,
 * §16.6 step 8), over raw UDP on loopback: the PBX is registered as bob and sends alice's INVITE
 * back to the proxy for carol, so the dialog's route set is <proxy>,<pbx>,<proxy>. Alice's BYE goes
 * proxy -> PBX -> proxy with the same Request-URI and a shorter Route set: a spiral, which must
 * reach carol rather than be answered 482 Loop Detected.
 */
import test from 'ava';
import { assertIdle, proxyFor, registerContact } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';

const HOST = '127.0.0.1';
const split = (text: string) => {
  const at = text.indexOf('\r\n\r\n');
  return { lines: text.slice(0, at).split('\r\n'), body: text.slice(at + 4) };
};
const valuesOf = (lines: string[], name: string) =>
  lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).flatMap((l) => l.slice(l.indexOf(':') + 1).split(/,(?=\s*<)/).map((v) => v.trim()));
const withoutHeader = (lines: string[], name: string) => lines.filter((l) => !l.toLowerCase().startsWith(`${name.toLowerCase()}:`));

/** The PBX as a record-routing proxy (§16.4, §16.6): its Route off the top, its Via on top, Record-Route on the INVITE. */
function pbxForwards(text: string, pbxPort: number, branch: string, uri?: string): string {
  const { lines, body } = split(text);
  const [method, ruri, version] = lines[0]!.split(' ');
  const routes = valuesOf(lines, 'Route');
  if (routes[0]?.includes(`${HOST}:${pbxPort};`)) routes.shift();
  const out = [`${method} ${uri ?? ruri} ${version}`, `Via: SIP/2.0/UDP ${HOST}:${pbxPort};branch=${branch};rport`];
  if (method === 'INVITE') out.push(`Record-Route: <sip:${HOST}:${pbxPort};lr>`);
  out.push(...withoutHeader(lines.slice(1), 'Route'));
  if (routes.length > 0) out.push(`Route: ${routes.join(', ')}`);
  return `${out.join('\r\n')}\r\n\r\n${body}`;
}

/** The PBX passes a response on (§16.7 step 9): its own Via, the top one, removed. */
function pbxRelays(text: string, pbxPort: number): string {
  const { lines, body } = split(text);
  const top = lines.findIndex((l) => /^via:/i.test(l));
  if (!lines[top]!.includes(`${HOST}:${pbxPort};`) || lines[top]!.includes(',')) throw new Error(`the PBX's Via is not a line of its own on top: ${lines[top]}`);
  lines.splice(top, 1);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A UAS's answer (§8.2.6): Vias, From, To with a tag, Call-ID, CSeq; Record-Route and Contact on a 2xx to INVITE. */
function answer(text: string, status: string, toTag: string, contact?: string): string {
  const { lines } = split(text);
  const pick = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name}:`));
  const to = pick('to')[0]!;
  return [
    `SIP/2.0 ${status}`, ...pick('via'), ...pick('from'), /;tag=/.test(to) ? to : `${to};tag=${toTag}`, ...pick('call-id'), ...pick('cseq'),
    ...(contact ? [...pick('record-route'), `Contact: <${contact}>`] : []), 'Content-Length: 0', '', '',
  ].join('\r\n');
}

test('a call spiralled through a record-routing PBX: alice\'s BYE, sent back by the PBX, reaches carol (no 482)', async (t) => {
  const proxy = await proxyFor(t);
  const [alice, pbx, carol] = await Promise.all([UdpClient.open(), UdpClient.open(), UdpClient.open()]);
  t.teardown(() => (alice.close(), pbx.close(), carol.close()));
  await registerContact(proxy, 'bob', pbx.port);
  await registerContact(proxy, 'carol', carol.port);
  const me = `${HOST}:${proxy.port}`;
  const carolContact = `sip:carol@${HOST}:${carol.port}`;
  const callId = `pbx-spiral-${alice.port}@${HOST}`;
  const request = (method: string, uri: string, cseq: number, extra: string[]) => [
    `${method} ${uri} SIP/2.0`, `Via: SIP/2.0/UDP ${HOST}:${alice.port};branch=z9hG4bK-a-${method}-${cseq};rport`, 'Max-Forwards: 70',
    `From: <sip:alice@${me}>;tag=a-tag`, ...extra, `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, 'Content-Length: 0', '', '',
  ].join('\r\n');

  await alice.send(request('INVITE', `sip:bob@${me}`, 1, [`To: <sip:bob@${me}>`, `Contact: <sip:alice@${HOST}:${alice.port}>`]), proxy.port);
  // The PBX retargets bob's call to carol and hands it back to the proxy: a spiral.
  await pbx.send(pbxForwards(await pbx.waitFor(/^INVITE /), pbx.port, 'z9hG4bK-pbx-inv', `sip:carol@${me}`), proxy.port);
  const invite = await carol.waitFor(/^INVITE /);
  const rr = [`<sip:${me};lr>`, `<sip:${HOST}:${pbx.port};lr>`, `<sip:${me};lr>`];
  t.deepEqual(valuesOf(split(invite).lines, 'Record-Route'), rr);
  await carol.send(answer(invite, '200 OK', 'c-tag', carolContact), proxy.port);
  await pbx.send(pbxRelays(await pbx.waitFor(/^SIP\/2\.0 200 /), pbx.port), proxy.port);
  const ok = await alice.waitFor(/^SIP\/2\.0 200 /);
  const routeSet = valuesOf(split(ok).lines, 'Record-Route').reverse();
  t.deepEqual(routeSet, rr);

  const inDialog = (method: string, cseq: number) => request(method, carolContact, cseq, [`To: <sip:bob@${me}>;tag=c-tag`, `Route: ${routeSet.join(', ')}`]);
  await alice.send(inDialog('ACK', 1), proxy.port);
  await pbx.send(pbxForwards(await pbx.waitFor(/^ACK /), pbx.port, 'z9hG4bK-pbx-ack'), proxy.port);
  await carol.waitFor(/^ACK /);

  await alice.send(inDialog('BYE', 2), proxy.port);
  await pbx.send(pbxForwards(await pbx.waitFor(/^BYE /), pbx.port, 'z9hG4bK-pbx-bye'), proxy.port);
  const bye = await carol.waitFor(/^BYE /);
  t.regex(bye, new RegExp(`^BYE ${carolContact} SIP/2\\.0\\r\\n`));
  await carol.send(answer(bye, '200 OK', 'c-tag'), proxy.port);
  await pbx.send(pbxRelays(await pbx.waitFor(/^SIP\/2\.0 200 [\s\S]*CSeq: 2 BYE/), pbx.port), proxy.port);
  await alice.waitFor(/^SIP\/2\.0 200 [\s\S]*CSeq: 2 BYE/);
  await t.throwsAsync(pbx.waitFor(/^SIP\/2\.0 482 /, 300), undefined, 'no 482 for the spiral');
  await assertIdle(t, proxy);
});

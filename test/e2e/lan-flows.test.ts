/**
 * Flows of the original product, with real baresip 1.0.0 softphones on a simulated LAN of network
 * namespaces, all through the real proxy: a call upgraded to video by an in-dialog re-INVITE, a
 * blind transfer (REFER + NOTIFY sipfrag), and instant messages (MESSAGE, 200 and 404).
 *
 * Every phone runs with baresip's SIP trace (`-s`), so each test checks the messages as the phones
 * themselves sent and received them: addresses (everything goes to and comes from the proxy's
 * address), the proxy's Via on top of what a phone receives (relayed, not answered by the proxy),
 * and the SDP. Needs root + `ip netns` (skipped otherwise, with a t.log saying why) and baresip.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createLan, lanUnsupportedReason, type Lan, type LanHost } from '../helpers/netns.js';
import { startPhone, type Phone, type PhoneEvent, type PhoneOptions, type TracedSip } from '../helpers/baresip.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const unsupported = await lanUnsupportedReason();

async function lanFor<H extends string>(t: ExecutionContext, hosts: H[]): Promise<Lan<H>> {
  t.timeout(60_000, 'test body must finish within 60 s');
  const lan = await createLan(hosts);
  t.teardown(() => lan.destroy()); // registered first, so it runs after every other teardown
  t.log(`lan ${lan.id}: ${Object.values<{ name: string; ip: string }>(lan.hosts).map((h) => `${h.name}=${h.ip}`).join(' ')}`);
  return lan;
}

/** The proxy in the 'proxy' namespace; its output is shown when a test fails. */
async function proxyIn<H extends string>(t: ExecutionContext, lan: Lan<H>): Promise<RunningProxy> {
  const host = (lan.hosts as Record<string, LanHost>).proxy!;
  const proxy = await startProxy({ host: host.ip, port: 5060, wrap: ['ip', 'netns', 'exec', host.ns], args: ['--t1', '100', '--t2', '400', '--t4', '500'] });
  t.teardown(async () => {
    await proxy.stop();
    if (!t.passed) t.log(`--- proxy output ---\n${proxy.output().slice(-4000)}`);
  });
  return proxy;
}

async function phone<H extends string>(t: ExecutionContext, lan: Lan<H>, host: H, opts: PhoneOptions): Promise<Phone> {
  const p = await startPhone(lan, host, { sipTrace: true, startTimeoutMs: 15_000, ...opts });
  t.teardown(async () => {
    if (!t.passed) t.log(`--- ${opts.user} (baresip) ---\n${p.output().slice(-6000)}`);
    await p.stop();
  });
  return p;
}

/** Command/response timeout: generous, as a loaded 2-CPU machine runs up to 9 phones at once. */
const CMD_MS = 10_000;
/** How long to wait for a SIP message or phone event that should follow at once. */
const WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const esc = (s: string) => s.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&');

/** Header values (all occurrences, comma-separated values split) of a traced message. */
function headers(m: TracedSip, name: string, compact?: string): string[] {
  const head = m.text.split('\n\n')[0]!.split('\n').slice(1);
  const re = new RegExp(`^(${name}${compact ? `|${compact}` : ''})\\s*:\\s*(.*)$`, 'i');
  return head.flatMap((l) => {
    const v = re.exec(l.trim());
    return v ? v[2]!.split(/,(?![^<]*>)/).map((x) => x.trim()) : [];
  });
}
const cseqOf = (m: TracedSip) => ({ num: Number(m.cseq.split(/\s+/)[0]), method: m.cseq.split(/\s+/)[1] ?? '' });

/** The proxy's own Via must be on top of what a phone receives: the proxy relayed it (RFC 3261 §16.6 step 8). */
function assertRelayed(t: ExecutionContext, m: TracedSip, proxyAt: string, what: string) {
  t.is(m.dir, 'rx', `${what}: direction`);
  t.is(m.src, proxyAt, `${what} came from ${m.src}, not from the proxy ${proxyAt}`);
  const vias = headers(m, 'Via', 'v');
  t.regex(vias[0] ?? '', new RegExp(`^SIP/2\\.0/UDP ${esc(proxyAt)};branch=z9hG4bK`), `${what}: top Via is not the proxy's: ${vias[0]}`);
  t.is(vias.length, 2, `${what}: expected the proxy's Via over the sender's, got ${JSON.stringify(vias)}`);
}

/** A response as the UAC got it: from the proxy, only the UAC's own Via left. */
function assertResponseRelayed(t: ExecutionContext, m: TracedSip, proxyAt: string, what: string) {
  t.is(m.dir, 'rx', `${what}: direction`);
  t.is(m.src, proxyAt, `${what} came from ${m.src}, not from the proxy ${proxyAt}`);
  t.is(headers(m, 'Via', 'v').length, 1, `${what}: the proxy's Via was not removed`);
}

const sdpMedia = (body: string, kind: string) => new RegExp(`^m=${kind} (\\d+) `, 'm').exec(body);
const videoPort = (m: TracedSip) => Number(sdpMedia(m.body, 'video')?.[1] ?? -1);

interface LogEntry {
  lines: string[];
  fields: Record<string, string>;
}
function readCallLog(proxy: RunningProxy): LogEntry[] {
  let text = '';
  try {
    text = readFileSync(proxy.callLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split(/^-----\n/m)
    .filter((e) => e.trim() !== '')
    .map((e) => {
      const lines = e.split('\n').filter(Boolean);
      return { lines, fields: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])) };
    });
}

/** Waits until the call log holds at least `n` entries (it is written when each call ends). */
async function waitCallLog(proxy: RunningProxy, n: number, ms = 8000): Promise<LogEntry[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const entries = readCallLog(proxy);
    if (entries.length >= n || Date.now() > deadline) return entries;
    await sleep(100);
  }
}

/** Polls the proxy until no transaction, call, relay or dialog is left (T1=100: Timer J/K/D/L/M are ≤ 6.4 s). */
async function waitIdle(t: ExecutionContext, proxy: RunningProxy, ms = 15_000) {
  const keys = ['serverTransactions', 'clientTransactions', 'calls', 'relays', 'dialogs'] as const;
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const s = await proxy.status();
    last = JSON.stringify(s);
    if (keys.every((k) => (s[k] ?? 0) === 0)) return t.pass();
    if (Date.now() > deadline) return t.fail(`proxy not idle ${ms} ms after the flow; last status: ${last}`);
    await sleep(250);
  }
}

/** The proxy said nothing beyond its start-up lines: no dropped message, no failed actor. */
function assertProxyQuiet(t: ExecutionContext, proxy: RunningProxy) {
  // These phones have no passwords: the start-up warning that authentication is off is expected.
  const output = proxy.output().replace(/^warn: authentication is off .*$/m, '');
  t.notRegex(output, /\b(warn|error|exception)\b/i, `proxy output:\n${proxy.output().slice(-3000)}`);
}

const TIME = /^\d{2}:\d{2}:\d{2}$/;
/** An answered call's entry: exactly from, to, ringing, start, end (the original format). */
function assertAnsweredEntry(t: ExecutionContext, e: LogEntry | undefined, from: string, to: string) {
  if (!e) return t.fail(`no call log entry ${from} -> ${to}`);
  t.deepEqual(e.lines.map((l) => l.split(':')[0]), ['from', 'to', 'ringing', 'start', 'end'], `entry ${JSON.stringify(e.lines)}`);
  t.is(e.fields.from, from);
  t.is(e.fields.to, to);
  for (const k of ['ringing', 'start', 'end']) t.regex(e.fields[k] ?? '', TIME, `${k} in ${JSON.stringify(e.lines)}`);
}

test('video: an audio call upgraded to video by an in-dialog re-INVITE through the proxy; one call in the log', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['proxy', 'alice', 'bob']);
  const proxy = await proxyIn(t, lan);
  const P = lan.hosts.proxy.ip;
  const at = `${P}:5060`;
  // Both have a camera (fakevideo) and VP8; bob answers by hand so he can refuse video at first.
  const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp: P, video: true });
  const bob = await phone(t, lan, 'bob', { user: 'bob', proxyIp: P, video: true, answerMode: 'manual' });
  await Promise.all([alice.waitRegistered(), bob.waitRegistered()]);

  await alice.command('dial', `sip:bob@${P}`, CMD_MS);
  await bob.waitEvent('CALL_INCOMING');
  // baresip 1.0.0 has no "answer audio-only" command. `video_dir inactive` on the ringing call sets
  // the video stream's direction (so the answer disables m=video) and then fails with EINVAL,
  // because the re-INVITE it also tries is not possible before the call is answered.
  await bob.command('video_dir', 'inactive', CMD_MS).catch(() => undefined);
  await bob.command('accept', '', CMD_MS);
  await Promise.all([alice.waitEvent('CALL_ESTABLISHED'), bob.waitEvent('CALL_ESTABLISHED')]);

  const invite = await alice.findSip((m) => m.dir === 'tx' && m.method === 'INVITE', WAIT_MS, "alice's INVITE");
  const callId = invite.callId;
  const answer = await alice.findSip((m) => m.dir === 'rx' && m.status === 200 && m.cseq === invite.cseq, WAIT_MS, 'the 200 to the INVITE');
  t.truthy(sdpMedia(answer.body, 'audio'), 'the answer has audio');
  t.is(videoPort(answer), 0, `the call must start audio-only (video refused in the answer):\n${answer.body}`);

  // Bob turns his camera on: a re-INVITE (new CSeq, same dialog) whose offer enables m=video.
  await sleep(300);
  const videoRtp = (e: PhoneEvent) => e.type === 'CALL_RTPESTAB' && e.param === 'video';
  t.false(bob.events.some(videoRtp), 'no video reached bob before the upgrade');
  await bob.command('video_dir', 'sendrecv', CMD_MS);
  const reinvite = await bob.findSip((m) => m.dir === 'tx' && m.method === 'INVITE' && m.callId === callId, WAIT_MS, "bob's re-INVITE");
  t.is(reinvite.dst, at, 'bob sends the re-INVITE to the proxy (Record-Route)');
  t.regex(headers(reinvite, 'Route')[0] ?? '', new RegExp(`sip:${esc(P)}(:5060)?;lr`), 'Route from the Record-Route');
  t.true(videoPort(reinvite) > 0, `re-INVITE offers video:\n${reinvite.body}`);
  t.regex(reinvite.body, /^a=rtpmap:\d+ VP8\/90000/m);

  const inAlice = await alice.findSip((m) => m.method === 'INVITE' && m.callId === callId && m.cseq === reinvite.cseq, WAIT_MS, 're-INVITE at alice');
  assertRelayed(t, inAlice, at, 're-INVITE at alice');
  t.true(videoPort(inAlice) > 0, 'the proxy kept the SDP');
  t.is(inAlice.body, reinvite.body, 'the SDP reaches alice unchanged');

  const ok = await alice.findSip((m) => m.dir === 'tx' && m.status === 200 && m.cseq === reinvite.cseq, WAIT_MS, "alice's 200 to the re-INVITE");
  t.is(ok.dst, at, "alice's 200 goes back via the proxy");
  t.true(videoPort(ok) > 0, `alice accepts video:\n${ok.body}`);
  const okAtBob = await bob.findSip((m) => m.status === 200 && m.cseq === reinvite.cseq, WAIT_MS, '200 to the re-INVITE at bob');
  assertResponseRelayed(t, okAtBob, at, '200 to the re-INVITE at bob');
  t.true(videoPort(okAtBob) > 0);

  const ackCseq = `${cseqOf(reinvite).num} ACK`;
  const ack = await bob.findSip((m) => m.dir === 'tx' && m.method === 'ACK' && m.cseq === ackCseq, WAIT_MS, "bob's ACK");
  t.is(ack.dst, at, 'the ACK goes to the proxy');
  const ackAtAlice = await alice.findSip((m) => m.method === 'ACK' && m.cseq === ackCseq, WAIT_MS, 'ACK at alice');
  assertRelayed(t, ackAtAlice, at, 'ACK at alice');

  // Video now flows: bob receives alice's VP8 RTP (she had none to send before the upgrade).
  await bob.findEvent(videoRtp, 10_000, 'video RTP at bob');

  await alice.command('hangup', '', CMD_MS);
  await Promise.all([alice.waitEvent('CALL_CLOSED'), bob.waitEvent('CALL_CLOSED')]);

  // The re-INVITE is part of the call, not a call of its own: one entry once the proxy is idle.
  await waitCallLog(proxy, 1);
  await waitIdle(t, proxy);
  const log = readCallLog(proxy);
  t.is(log.length, 1, `exactly one call in the log:\n${readFileSync(proxy.callLog, 'utf8')}`);
  assertAnsweredEntry(t, log[0], `sip:alice@${P}`, `sip:bob@${P}`);
  assertProxyQuiet(t, proxy);
});

test('transfer: bob REFERs alice to carol; NOTIFYs relayed to bob; both calls in the log', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['proxy', 'alice', 'bob', 'carol']);
  const proxy = await proxyIn(t, lan);
  const P = lan.hosts.proxy.ip;
  const at = `${P}:5060`;
  const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp: P });
  const bob = await phone(t, lan, 'bob', { user: 'bob', proxyIp: P });
  const carol = await phone(t, lan, 'carol', { user: 'carol', proxyIp: P });
  await Promise.all([alice.waitRegistered(), bob.waitRegistered(), carol.waitRegistered()]);

  await alice.command('dial', `sip:bob@${P}`, CMD_MS);
  await Promise.all([alice.waitEvent('CALL_ESTABLISHED'), bob.waitEvent('CALL_ESTABLISHED')]);
  const invite = await alice.findSip((m) => m.dir === 'tx' && m.method === 'INVITE', WAIT_MS, "alice's INVITE");
  const callId = invite.callId;

  // Blind transfer: bob's in-call `transfer` sends an in-dialog REFER (Refer-To: sip:carol@P).
  await sleep(300);
  await bob.command('transfer', `sip:carol@${P}`, CMD_MS);
  const refer = await bob.findSip((m) => m.dir === 'tx' && m.method === 'REFER', WAIT_MS, "bob's REFER");
  t.is(refer.callId, callId, 'REFER is in the call dialog');
  t.is(refer.dst, at, 'bob sends the REFER to the proxy (Record-Route)');
  t.deepEqual(headers(refer, 'Refer-To', 'r'), [`sip:carol@${P}`]);
  const referAtAlice = await alice.findSip((m) => m.method === 'REFER' && m.cseq === refer.cseq, WAIT_MS, 'REFER at alice');
  assertRelayed(t, referAtAlice, at, 'REFER at alice');
  const accepted = await bob.findSip((m) => m.status !== undefined && m.cseq === refer.cseq, WAIT_MS, 'the response to the REFER at bob');
  t.is(accepted.status, 202, `alice accepts the REFER: ${accepted.startLine}`);
  assertResponseRelayed(t, accepted, at, '202 at bob');
  t.regex(headers(accepted, 'Server').join(), /baresip/, "the 202 is alice's, not the proxy's");

  // alice calls carol through the proxy; carol answers by herself.
  await alice.waitEvent((e) => e.type === 'TRANSFER' && e.param === `sip:carol@${P}`, WAIT_MS, 'TRANSFER');
  const [toCarol, atCarol] = await Promise.all([
    alice.waitEvent((e) => e.type === 'CALL_ESTABLISHED' && e.peeruri === `sip:carol@${P}`, 10_000, 'CALL_ESTABLISHED with carol'),
    carol.waitEvent('CALL_ESTABLISHED', 10_000),
  ]);
  t.is(toCarol.direction, 'outgoing');
  t.is(atCarol.peeruri, `sip:alice@${P}`);
  const inviteCarol = await alice.findSip((m) => m.dir === 'tx' && m.method === 'INVITE' && m.callId !== callId, WAIT_MS, "alice's INVITE to carol");
  t.is(inviteCarol.dst, at, 'alice calls carol via the proxy');
  t.regex(inviteCarol.startLine, new RegExp(`^INVITE sip:carol@${esc(P)} `));
  assertRelayed(t, await carol.findSip((m) => m.method === 'INVITE', WAIT_MS, 'INVITE at carol'), at, 'INVITE at carol');

  // alice reports the transfer's progress to bob in NOTIFYs (message/sipfrag), ending with 200.
  const finalNotify = await bob.findSip((m) => m.method === 'NOTIFY' && /^SIP\/2\.0 200/.test(m.body), 10_000, 'NOTIFY with sipfrag 200 at bob');
  // (Retransmissions, by alice or by the proxy's own timers, may repeat a NOTIFY: compare CSeqs.)
  const sentNotifies = alice.sipTrace().filter((m) => m.dir === 'tx' && m.method === 'NOTIFY');
  const gotNotifies = bob.sipTrace().filter((m) => m.dir === 'rx' && m.method === 'NOTIFY');
  const unique = (ms: TracedSip[]) => [...new Set(ms.map((m) => m.cseq))];
  t.true(unique(sentNotifies).length >= 2, `alice sent ${unique(sentNotifies).length} NOTIFY`);
  t.deepEqual(unique(gotNotifies), unique(sentNotifies), 'every NOTIFY alice sent reached bob');
  for (const n of sentNotifies) {
    t.is(n.dst, at, 'NOTIFY goes to the proxy');
    t.is(n.callId, callId, 'NOTIFY is in the call dialog');
  }
  for (const n of gotNotifies) {
    assertRelayed(t, n, at, `NOTIFY ${n.cseq} at bob`);
    t.deepEqual(headers(n, 'Event', 'o'), [`refer;id=${cseqOf(refer).num}`]);
    t.deepEqual(headers(n, 'Content-Type', 'c'), ['message/sipfrag']);
    // The 200 alice gets is bob's own answer to the NOTIFY, relayed back, not one made by the proxy.
    const resp = await alice.findSip((m) => m.dir === 'rx' && m.status !== undefined && m.cseq === n.cseq, WAIT_MS, `response to NOTIFY ${n.cseq}`);
    t.is(resp.status, 200, resp.startLine);
    assertResponseRelayed(t, resp, at, `200 to NOTIFY ${n.cseq} at alice`);
    t.regex(headers(resp, 'Server').join(), /baresip/, "the 200 to the NOTIFY is bob's, not the proxy's");
  }
  t.is(gotNotifies[0]!.body.trim(), 'SIP/2.0 100 Trying');
  t.regex(headers(finalNotify, 'Subscription-State').join(), /^terminated/);

  // After the final NOTIFY bob hangs up his call with alice; alice then ends the call with carol.
  await bob.waitEvent('CALL_CLOSED', 10_000);
  await alice.findEvent((e) => e.type === 'CALL_CLOSED' && e.peeruri === `sip:bob@${P}`, 10_000, 'CALL_CLOSED with bob');
  const bye = await bob.findSip((m) => m.dir === 'tx' && m.method === 'BYE', WAIT_MS, "bob's BYE");
  t.is(bye.callId, callId);
  t.is(bye.dst, at, 'bob sends his BYE to the proxy');
  assertRelayed(t, await alice.findSip((m) => m.method === 'BYE' && m.cseq === bye.cseq, WAIT_MS, "bob's BYE at alice"), at, "bob's BYE at alice");
  await alice.command('hangup', '', CMD_MS);
  await Promise.all([
    alice.findEvent((e) => e.type === 'CALL_CLOSED' && e.peeruri === `sip:carol@${P}`, 10_000, 'CALL_CLOSED with carol'),
    carol.waitEvent('CALL_CLOSED', 10_000),
  ]);

  await waitCallLog(proxy, 2);
  await waitIdle(t, proxy);
  const log = readCallLog(proxy);
  t.is(log.length, 2, `two calls in the log:\n${readFileSync(proxy.callLog, 'utf8')}`);
  assertAnsweredEntry(t, log.find((e) => e.fields.to === `sip:bob@${P}`), `sip:alice@${P}`, `sip:bob@${P}`);
  assertAnsweredEntry(t, log.find((e) => e.fields.to === `sip:carol@${P}`), `sip:alice@${P}`, `sip:carol@${P}`);
  assertProxyQuiet(t, proxy);
});

test('instant message: MESSAGE to bob relayed with its 200; to an unknown user 404', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['proxy', 'alice', 'bob']);
  const proxy = await proxyIn(t, lan);
  const P = lan.hosts.proxy.ip;
  const at = `${P}:5060`;
  // baresip 1.0.0 sends MESSAGE with the contact module: `message TEXT` goes to the current contact.
  const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp: P, contacts: [`"Bob" <sip:bob@${P}>`, `"Nobody" <sip:nobody@${P}>`] });
  const bob = await phone(t, lan, 'bob', { user: 'bob', proxyIp: P, uiOutput: true });
  await Promise.all([alice.waitRegistered(), bob.waitRegistered()]);

  const text = 'hello bob, ça va? ünïcødé';
  await alice.command('message', text, CMD_MS);
  const sent = await alice.findSip((m) => m.dir === 'tx' && m.method === 'MESSAGE', WAIT_MS, "alice's MESSAGE");
  t.is(sent.dst, at, 'alice sends the MESSAGE to the proxy');
  t.regex(sent.startLine, new RegExp(`^MESSAGE sip:bob@${esc(P)} `));

  // bob's phone shows the message (menu prints "<peer>: \"<text>\"" through the UI).
  await bob.waitOutput(new RegExp(`sip:alice@${esc(P)}: "${esc(text)}"`), WAIT_MS);
  const got = await bob.findSip((m) => m.method === 'MESSAGE', WAIT_MS, 'MESSAGE at bob');
  assertRelayed(t, got, at, 'MESSAGE at bob');
  t.is(got.body, text, 'the body arrives intact');
  t.deepEqual(headers(got, 'Content-Type', 'c'), ['text/plain']);
  t.regex(got.startLine, new RegExp(`^MESSAGE sip:bob[^@]*@${esc(lan.hosts.bob.ip)}:5060 `), "Request-URI is bob's registered contact");

  const ok = await alice.findSip((m) => m.dir === 'rx' && m.status !== undefined && m.cseq === sent.cseq, WAIT_MS, 'response to the MESSAGE');
  t.is(ok.status, 200, ok.startLine);
  assertResponseRelayed(t, ok, at, '200 to the MESSAGE at alice');
  t.regex(headers(ok, 'Server').join(), /baresip/, "the 200 is bob's, relayed");

  // Now to a user that never registered: the proxy answers 404 itself, alice's phone shows it.
  t.regex(await alice.command('contact_next', '', CMD_MS), /nobody@/);
  await alice.command('message', 'anyone there?', CMD_MS);
  const sent2 = await alice.findSip((m) => m.dir === 'tx' && m.method === 'MESSAGE' && m.callId !== sent.callId, WAIT_MS, "alice's 2nd MESSAGE");
  t.regex(sent2.startLine, new RegExp(`^MESSAGE sip:nobody@${esc(P)} `));
  t.is(sent2.dst, at);
  const nf = await alice.findSip((m) => m.dir === 'rx' && m.status !== undefined && m.cseq === sent2.cseq, WAIT_MS, 'response to the 2nd MESSAGE');
  t.is(nf.status, 404, nf.startLine);
  t.is(nf.src, at);
  await alice.waitOutput(/\x1b\[31m404 Not Found/, WAIT_MS); // the contact module's failure line

  // Messages are not calls, and nothing else reached bob (the proxy may have retransmitted the first).
  await waitIdle(t, proxy);
  t.deepEqual([...new Set(bob.sipTrace().filter((m) => m.method === 'MESSAGE').map((m) => m.cseq))], [sent.cseq]);
  t.deepEqual(readCallLog(proxy), [], 'no call log entry for MESSAGEs');
  assertProxyQuiet(t, proxy);
});

// Issue 4: a conference hosted by one phone (the original's group call): the host calls two
// participants; each SUBSCRIBEs out of dialog to the host's conference URI (routed by location),
// gets a NOTIFY back through the proxy and refreshes in-dialog; the host's hang-up ends both calls.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { startSipp } from '../helpers/sipp.js';
import { freePort } from '../helpers/ports.js';
import { assertIdle, assertOk, proxyFor, received, registerContact, sent } from '../helpers/flows.js';

test('conference: two calls from the host, SUBSCRIBE/NOTIFY relayed both ways, hang-up ends both', async (t) => {
  const proxy = await proxyFor(t, [], { timeoutMs: 45_000 });
  const remote = `${proxy.host}:${proxy.port}`;
  const [focusPort, bobPort, carolPort] = [await freePort(), await freePort(), await freePort()];
  await registerContact(proxy, 'host', focusPort);
  await registerContact(proxy, 'bob', bobPort);
  await registerContact(proxy, 'carol', carolPort);

  const focus = await startSipp({ scenario: 'conf-focus.xml', remote, port: focusPort, calls: 2, timeoutMs: 25_000, label: 'focus' });
  const bob = await startSipp({ scenario: 'conf-participant.xml', remote, port: bobPort, service: 'bob', timeoutMs: 25_000, label: 'bob' });
  const carol = await startSipp({ scenario: 'conf-participant.xml', remote, port: carolPort, service: 'carol', timeoutMs: 25_000, label: 'carol' });
  for (const p of [focus, bob, carol]) t.teardown(() => p.stop());

  const legs = await Promise.all(['bob', 'carol'].map((who) =>
    startSipp({ scenario: 'conf-host-leg.xml', remote, service: who, timeoutMs: 20_000, label: `host->${who}` }).then((r) => r.done)));
  for (const leg of legs) assertOk(t, leg, proxy);
  const [b, c, f] = await Promise.all([bob.done, carol.done, focus.done]);
  for (const r of [b, c, f]) assertOk(t, r, proxy);

  t.is(received(f, 'SUBSCRIBE').length, 4, 'the focus got both initial SUBSCRIBEs and both refreshes');
  t.is(sent(f, 'NOTIFY').length, 2);
  for (const p of [b, c]) {
    t.is(received(p, 'NOTIFY').length, 1, 'each participant got its NOTIFY through the proxy');
    t.true(received(p, 'NOTIFY')[0]!.text.includes(`Via: SIP/2.0/UDP ${remote}`), 'the NOTIFY came through the proxy');
    t.is(received(p, 'BYE').length, 1, 'the host hung up');
  }

  // Two calls in the log, as the original's log_groupcall.txt.
  const deadline = Date.now() + 3000;
  let log = '';
  while (Date.now() < deadline && (log.match(/-----/g) ?? []).length < 2) {
    await new Promise((r) => setTimeout(r, 100));
    log = readFileSync(proxy.callLog, 'utf8');
  }
  const entries = log.split('-----\n').filter(Boolean).sort();
  t.is(entries.length, 2, log);
  t.regex(entries[0]!, /^from: sip:host@127\.0\.0\.1\nto: sip:bob@127\.0\.0\.1\nringing: \S+\nstart: \S+\nend: \S+\n$/);
  t.regex(entries[1]!, /^from: sip:host@127\.0\.0\.1\nto: sip:carol@127\.0\.0\.1\nringing: \S+\nstart: \S+\nend: \S+\n$/);
  await assertIdle(t, proxy);
});

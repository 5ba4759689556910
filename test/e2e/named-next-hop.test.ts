// A next hop named by a host name, on the wire: the proxy resolves it with the system resolver
// before forwarding (src/transport/nameResolver.ts). `localhost` is answered from /etc/hosts, so
// nothing leaves the machine; a name that does not resolve is a unit test (test/unit/supervisor).
import test from 'ava';
import { startProxy } from '../helpers/proxy.js';
import { UdpClient } from '../helpers/udpClient.js';
import { assertIdle } from '../helpers/flows.js';

test('a MESSAGE to sip:carol@localhost:PORT (another domain) is resolved and relayed to 127.0.0.1, and carol\'s 200 comes back', async (t) => {
  t.timeout(20_000);
  const proxy = await startProxy({ args: ['--t1', '20', '--t2', '80', '--t4', '100'] });
  t.teardown(() => proxy.stop());
  const alice = await UdpClient.open();
  const carol = await UdpClient.open();
  t.teardown(() => (alice.close(), carol.close()));
  await alice.send([
    `MESSAGE sip:carol@localhost:${carol.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bKnamed1;rport`, 'Max-Forwards: 70',
    'From: <sip:alice@127.0.0.1>;tag=named', `To: <sip:carol@localhost:${carol.port}>`, `Call-ID: named-${alice.port}`, 'CSeq: 1 MESSAGE',
    'Content-Type: text/plain', 'Content-Length: 5', '', 'hello',
  ].join('\r\n'), proxy.port);
  const relayed = await carol.waitFor(/^MESSAGE /);
  t.regex(relayed, new RegExp(`^MESSAGE sip:carol@localhost:${carol.port} SIP/2.0\r\n`), 'the Request-URI kept its name');
  const head = relayed.split('\r\n\r\n')[0]!.split('\r\n');
  const keep = head.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=carol` : l));
  await carol.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), proxy.port);
  t.regex(await alice.waitFor(/^SIP\/2.0 /), /^SIP\/2.0 200 /);
  await assertIdle(t, proxy, 3000);
  t.is((await proxy.status()).internalErrors, 0);
});

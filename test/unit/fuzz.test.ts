// Issue "Hardening": mutated valid messages and random bytes into the parser and into the whole
// supervisor (fake transport: nothing is sent anywhere). No exception may escape or be swallowed.
import test from 'ava';
import fc from 'fast-check';
import { parseDatagram } from '../../src/sip/parser.js';
import { Supervisor } from '../../src/actors/supervisor.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { Logger } from '../../src/util/logger.js';
import { corpus } from '../../fuzz/corpus.js';
import { mutate, prng, randomDatagram } from '../../fuzz/mutate.js';

const RUNS = 12_000;

test(`${RUNS} mutated and random datagrams: the parser never throws and the supervisor never fails`, (t) => {
  const sent: number[] = [];
  const sup = new Supervisor({ send: (d) => void sent.push(d.length) }, {
    identity: new LocalIdentity({ host: '127.0.0.1', port: 5060 }),
    timers: { t1: 10, t2: 40, t4: 50 },
    logger: new Logger('error'),
  });
  t.teardown(() => sup.stop());
  let parsed = 0;
  fc.assert(
    fc.property(fc.integer(), fc.nat(13), fc.boolean(), (seed, which, random) => {
      const rnd = prng(seed);
      const data = random ? randomDatagram(rnd) : mutate(corpus(seed & 0xffff)[which]!, rnd);
      const r = parseDatagram(data);
      if (!r.ok && r.error.startsWith('unparseable')) throw new Error(`the parser threw on seed ${seed}: ${r.error}`);
      if (r.ok) parsed++;
      sup.receive(data, { host: '127.0.0.1', port: 5999 });
    }),
    { numRuns: RUNS },
  );
  const s = sup.stats();
  t.is(s.internalErrors, 0);
  t.is(s.received, RUNS);
  t.true(parsed > RUNS / 10, `${parsed} of the mutants still parsed, so the routing code was exercised too`);
  t.log(`${parsed} parsed, ${s.badMessages} bad, ${sent.length} datagrams the proxy would have sent`);
});

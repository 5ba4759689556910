import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { SEND_BURST, SendQueue } from '../../src/transport/sendQueue.js';
import { UdpTransport } from '../../src/transport/udp.js';

/** A loopback peer that records what it receives. */
async function peer(): Promise<{ port: number; got: string[]; close(): void }> {
  const s = createSocket('udp4');
  const got: string[] = [];
  s.on('message', (m) => got.push(m.toString()));
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return { port: s.address().port, got, close: () => s.close() };
}

const until = async (ok: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
};

test('datagrams wait for the end of the turn, a full burst leaves at once, and all arrive in order', async (t) => {
  const p = await peer();
  const tr = new UdpTransport(() => {}, () => {});
  await tr.listen('127.0.0.1', 0);
  for (let i = 0; i < SEND_BURST - 1; i++) tr.send(Buffer.from(`m${i}`), '127.0.0.1', p.port);
  t.is(tr.queued, SEND_BURST - 1);
  tr.send(Buffer.from(`m${SEND_BURST - 1}`), '127.0.0.1', p.port);
  t.is(tr.queued, 0, 'the burst left inside the call that filled it');
  tr.send(Buffer.from('tail'), '127.0.0.1', p.port);
  t.is(tr.queued, 1);
  await new Promise((r) => setImmediate(r));
  t.is(tr.queued, 0, 'the rest left when the turn ended');
  await until(() => p.got.length === SEND_BURST + 1);
  t.deepEqual(p.got, [...Array.from({ length: SEND_BURST }, (_, i) => `m${i}`), 'tail']);
  await tr.close();
  p.close();
});

test('close() sends what is still queued; a bad address only counts a drop', async (t) => {
  const p = await peer();
  const tr = new UdpTransport(() => {}, () => {});
  await tr.listen('127.0.0.1', 0);
  tr.send(Buffer.from('last'), '127.0.0.1', p.port);
  tr.send(Buffer.from('x'), '127.0.0.1', 0);
  tr.send(Buffer.from('x'), '', 5060);
  await tr.close();
  await until(() => p.got.length === 1);
  t.deepEqual(p.got, ['last']);
  t.is(tr.dropped, 2);
  p.close();
});

test('SendQueue: a send that throws counts one refusal and the rest still leave; a send that queues more is flushed once, in order', (t) => {
  const sent: string[] = [];
  let refusals = 0;
  const q: SendQueue = new SendQueue(
    (data) => {
      const s = data.toString();
      if (s === 'bad') throw new Error('refused');
      sent.push(s);
      // Queueing from inside a send, up to the bound: the running flush sends it after the others.
      if (s === 'a') for (let i = 0; i < SEND_BURST; i++) q.push(Buffer.from(`x${i}`), 'h', 1);
    },
    () => refusals++,
  );
  q.push(Buffer.from('a'), 'h', 1);
  q.push(Buffer.from('bad'), 'h', 1);
  q.push(Buffer.from('b'), 'h', 1);
  q.flush();
  t.is(refusals, 1);
  t.deepEqual(sent, ['a', 'b', ...Array.from({ length: SEND_BURST }, (_, i) => `x${i}`)]);
  t.is(q.length, 0);
});

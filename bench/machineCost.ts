/**
 * `node dist/bench/machineCost.js [N] [--no-scheduler]`: what a transaction machine costs with
 * nothing around it (XState's interpreter and our MachineActor shell). Each of the four
 * transaction machines a proxied call runs (RFC 3261 §17) is started N times and taken through
 * the events of one call (the INVITE server transaction to 180 and 200, the client one through
 * 100, 180 and 200, the BYE's pair to 200), emitting into a no-op, with the inputs the supervisor
 * gives them. Prints µs per transaction and per step (a start or an event), the best of five
 * rounds. Scheduling and cancelling the transaction timers is counted; the firing of the timer
 * that later ends each lingering transaction (64*T1, or T4 for the BYE's client) is not.
 * `--no-scheduler` replaces the delay lanes by no-ops, to tell their share; `--engine lean` runs the
 * machines with the lean interpreter (src/actors/leanInterpreter.ts).
 */
import { MachineActor, MachineSystem } from '../src/actors/machineActor.js';
import { inviteClientTransaction, type InviteClientInput } from '../src/machines/inviteClientTransaction.js';
import { inviteServerTransaction, type InviteServerInput } from '../src/machines/inviteServerTransaction.js';
import { nonInviteClientTransaction, type NonInviteClientInput } from '../src/machines/nonInviteClientTransaction.js';
import { nonInviteServerTransaction, type NonInviteServerInput } from '../src/machines/nonInviteServerTransaction.js';
import { DEFAULT_TIMERS, DEFAULT_TIMER_C_MS } from '../src/machines/timers.js';
import type { SipRequest, SipResponse } from '../src/sip/message.js';
import { tuneHeap } from '../src/util/heapTuning.js';
import { takeEngineArg } from './options.js';
import { msg } from '../test/helpers/messages.js';
import type { AnyStateMachine } from 'xstate';

function parsed(lines: string[]): SipRequest | SipResponse {
  return msg(`${lines.join('\n')}\nContent-Length: 0\n\n`);
}

function request(method: string): SipRequest {
  return parsed([
    `${method} sip:callee@127.0.0.1:6001 SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy-1',
    'Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-caller-1;rport=6000',
    'From: <sip:caller@127.0.0.1>;tag=c1',
    'To: <sip:callee@127.0.0.1>',
    'Call-ID: call-1@127.0.0.1',
    `CSeq: 1 ${method}`,
    'Max-Forwards: 69',
  ]) as SipRequest;
}

function response(status: string, method: string): SipResponse {
  return parsed([
    `SIP/2.0 ${status}`,
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy-1',
    'From: <sip:caller@127.0.0.1>;tag=c1',
    'To: <sip:callee@127.0.0.1>;tag=e1',
    'Call-ID: call-1@127.0.0.1',
    `CSeq: 1 ${method}`,
  ]) as SipResponse;
}

const invite = request('INVITE');
const bye = request('BYE');
const [trying, ringing, ok] = [response('100 Trying', 'INVITE'), response('180 Ringing', 'INVITE'), response('200 OK', 'INVITE')];
const byeOk = response('200 OK', 'BYE');

interface Case {
  name: string;
  machine: AnyStateMachine;
  input: unknown;
  events: Array<{ type: string; response: SipResponse }>;
  /** Where the events must have taken it: XState ignores an event it has no transition for. */
  reaches: string;
}

const timers = DEFAULT_TIMERS;
const cases: Case[] = [
  {
    name: 'INVITE server (§17.2.1): start, 180, 200',
    machine: inviteServerTransaction,
    input: { request: invite, timers, reliable: false } satisfies InviteServerInput,
    events: [{ type: 'respond', response: ringing }, { type: 'respond', response: ok }],
    reaches: 'accepted',
  },
  {
    name: 'INVITE client (§17.1.1): start, 100, 180, 200',
    machine: inviteClientTransaction,
    input: { request: invite, timers, reliable: false, timerC: DEFAULT_TIMER_C_MS } satisfies InviteClientInput,
    events: [{ type: 'response', response: trying }, { type: 'response', response: ringing }, { type: 'response', response: ok }],
    reaches: 'accepted',
  },
  {
    name: 'non-INVITE server (§17.2.2): start, 200',
    machine: nonInviteServerTransaction,
    input: { request: bye, timers, reliable: false } satisfies NonInviteServerInput,
    events: [{ type: 'respond', response: byeOk }],
    reaches: 'completed',
  },
  {
    name: 'non-INVITE client (§17.1.2): start, 200',
    machine: nonInviteClientTransaction,
    input: { request: bye, timers, reliable: false } satisfies NonInviteClientInput,
    events: [{ type: 'response', response: byeOk }],
    reaches: 'completed',
  },
];

function main(): void {
  tuneHeap();
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 20_000);
  const engine = takeEngineArg(args);
  const system = new MachineSystem(undefined, engine);
  if (args.includes('--no-scheduler')) {
    const s = system.xstateSystem.scheduler;
    s.schedule = () => {};
    s.cancel = () => {};
    s.cancelAll = () => {};
  }
  const hooks = {
    onEmit: () => {},
    onDone: () => {},
    onError: (err: unknown) => {
      throw err;
    },
  };
  let perCall = 0;
  let steps = 0;
  for (const c of cases) {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      // Kept alive as in the proxy (their lingering timers hold them), and stopped after the round.
      const actors: MachineActor<never>[] = new Array(n);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const a = new MachineActor<never>(c.machine, c.input, system, hooks);
        a.start();
        for (const e of c.events) a.send(e);
        actors[i] = a;
      }
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / n);
      const value = JSON.stringify(actors[n - 1]!.getSnapshot().value);
      if (value !== JSON.stringify(c.reaches)) throw new Error(`${c.name}: ended in ${value}, not ${c.reaches}`);
      for (const a of actors) a.stop();
    }
    const s = 1 + c.events.length;
    perCall += best;
    steps += s;
    console.log(`${c.name}: ${best.toFixed(1)} µs per transaction, ${(best / s).toFixed(1)} µs per step`);
  }
  console.log(`the four together, as in one proxied call (${engine}): ${perCall.toFixed(1)} µs in ${steps} steps`);
}

main();

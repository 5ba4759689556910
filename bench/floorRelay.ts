/**
 * A Node process that only relays datagrams (bench/nodeFloor.ts): whatever comes from the callee
 * goes to the caller, everything else to the callee, after WORK_US microseconds of busy work per
 * datagram standing in for a proxy's. No SIP, no allocation beyond Node's own, sends queued to
 * the end of the turn as sipstate's (SendQueue). On SIGTERM it prints its datagrams and CPU time.
 * Env: RELAY_PORT, CALLEE_PORT, CALLER_PORT, WORK_US.
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { SendQueue } from '../src/transport/sendQueue.js';

const HOST = '127.0.0.1';
const relayPort = Number(process.env.RELAY_PORT);
const calleePort = Number(process.env.CALLEE_PORT);
const callerPort = Number(process.env.CALLER_PORT);
const workMs = Number(process.env.WORK_US ?? 0) / 1000;

const socket = createSocket({ type: 'udp4', lookup: (_h, _o, cb) => cb(null, HOST, 4) });
const queue = new SendQueue((data, host, port) => socket.send(data, port, host), () => undefined);
let datagrams = 0;
const cpuAtStart = process.cpuUsage();

socket.on('message', (data, from) => {
  datagrams++;
  if (workMs > 0) {
    const until = performance.now() + workMs;
    while (performance.now() < until);
  }
  queue.push(data, HOST, from.port === calleePort ? callerPort : calleePort);
});
socket.bind(relayPort, HOST, () => {
  socket.setRecvBufferSize(8 * 1024 * 1024);
  socket.setSendBufferSize(8 * 1024 * 1024);
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(cpuAtStart);
  process.stdout.write(`${JSON.stringify({ datagrams, cpuUs: cpu.user + cpu.system })}\n`);
  process.exit(0);
});

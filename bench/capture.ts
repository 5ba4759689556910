/**
 * Wire latency from a packet capture: dumpcap records the caller's datagrams on the loopback
 * interface (kernel timestamps, microseconds), and for each call we take the time from its first
 * INVITE to the first 180 and the first 200 the caller got back. This is what the caller's socket
 * sees, independent of SIPp's own clock (which on this machine advances in coarse steps).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir, spawnGroup, type Group } from './processes.js';
import { freeUdpPort, sleep } from './ports.js';

export interface Capture {
  file: string;
  group: Group;
  /** Stops dumpcap (SIGINT: it flushes the file) and resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `dumpcap -i lo` on the given udp ports, pinned to `cpu`; resolves once it is capturing. */
export async function startCapture(dir: string, ports: number[], cpu: number): Promise<Capture> {
  const port = ports[0]!;
  const file = path.join(dir, `caller-${port}.pcap`);
  const errFile = path.join(dir, `dumpcap-${port}.log`);
  const filter = ports.map((p) => `udp port ${p}`).join(' or ');
  const group = spawnGroup('dumpcap', 'taskset', ['-c', String(cpu), 'dumpcap', '-i', 'lo', '-f', filter, '-P', '-B', '64', '-s', '2048', '-q', '-w', file], {
    cwd: dir,
    stderr: errFile,
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const err = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
    if (/Capturing on/i.test(err) || (existsSync(file) && !group.hasExited())) break;
    if (group.hasExited() || Date.now() > deadline) {
      await group.stop();
      throw new Error(`dumpcap did not start capturing:\n${err}`);
    }
    await sleep(50);
  }
  await sleep(200);
  const stopOnce = async (): Promise<void> => {
    if (!group.hasExited()) {
      try {
        process.kill(group.pid, 'SIGINT');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => void group.stop(1000), 5000);
      await group.exited;
      clearTimeout(t);
    }
    await group.stop();
  };
  // Stopping twice (the run, then a finally) waits for the first stop, and signals nothing again.
  let stopped: Promise<void> | null = null;
  return {
    file,
    group,
    stop: () => (stopped ??= stopOnce()),
  };
}

/**
 * Whether dumpcap may capture on lo here: as a normal user it needs the capture capabilities
 * Debian grants the `wireshark` group. Null when it can, else why not and what to do.
 */
export async function captureProblem(cpu: number): Promise<string | null> {
  const dir = makeTempDir('capture-check');
  try {
    const c = await startCapture(dir, [await freeUdpPort()], cpu);
    await c.stop();
    return null;
  } catch (e) {
    return (
      `dumpcap cannot capture on lo (${(e as Error).message.split('\n').filter(Boolean).slice(0, 2).join(' ')}); ` +
      'run the benchmark as root, or let your user capture: dpkg-reconfigure wireshark-common (answer yes), usermod -aG wireshark $USER, log in again'
    );
  } finally {
    removeTempDir(dir);
  }
}

export interface WireLatencies {
  /** INVITE -> first 180, ms, one per call that got one. */
  inv180: number[];
  /** INVITE -> first 200 (to the INVITE), ms. */
  inv200: number[];
  /** Time inside the proxy (packet in -> packet out at `hopPort`): the INVITE, and its 200 on the way back. */
  hopInvite: number[];
  hop200: number[];
  packets: number;
  calls: number;
}

interface CallTimes {
  invite?: number;
  r180?: number;
  r200?: number;
  hopInviteIn?: number;
  hopInviteOut?: number;
  hop200In?: number;
  hop200Out?: number;
}

function header(text: string, long: string, compact?: string): string | null {
  const names = compact ? `${long}|${compact}` : long;
  const re = new RegExp(`\\r\\n(?:${names})[ \\t]*:[ \\t]*([^\\r\\n]*)`, 'i');
  const m = re.exec(text);
  return m ? m[1]!.trim() : null;
}

/**
 * Reads a classic pcap of Ethernet-framed (Linux lo) IPv4/UDP datagrams to and from `callerPort`
 * and, with `hopPort` (the proxy's), the time each INVITE and each 200 spent inside the proxy:
 * its first copy in, to its first copy out.
 */
export function wireLatencies(file: string, callerPort: number, hopPort?: number): WireLatencies {
  const buf = readFileSync(file);
  if (buf.length < 24) return { inv180: [], inv200: [], hopInvite: [], hop200: [], packets: 0, calls: 0 };
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const calls = new Map<string, CallTimes>();
  let off = 24;
  let packets = 0;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const data = off + 16;
    off = data + incl;
    if (off > buf.length) break;
    const t = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    let ip = data;
    if (linktype === 1) {
      if (buf.readUInt16BE(data + 12) !== 0x0800) continue;
      ip = data + 14;
    } else if (linktype === 113) {
      ip = data + 16; // Linux cooked capture
    } else if (linktype !== 101 && linktype !== 228) continue; // raw IPv4
    if (buf[ip]! >> 4 !== 4 || buf[ip + 9] !== 17) continue;
    const udp = ip + (buf[ip]! & 0x0f) * 4;
    const sport = buf.readUInt16BE(udp);
    const dport = buf.readUInt16BE(udp + 2);
    const text = buf.toString('latin1', udp + 8, Math.min(off, udp + 8 + 1500));
    packets++;
    const callId = header(text, 'Call-ID', 'i');
    const cseq = header(text, 'CSeq');
    if (!callId || !cseq || !/\sINVITE$/i.test(cseq)) continue;
    let c = calls.get(callId);
    if (!c) calls.set(callId, (c = {}));
    if (sport === callerPort && text.startsWith('INVITE ')) c.invite ??= t;
    else if (dport === callerPort && text.startsWith('SIP/2.0 180')) c.r180 ??= t;
    else if (dport === callerPort && text.startsWith('SIP/2.0 200')) c.r200 ??= t;
    if (hopPort !== undefined) {
      if (dport === hopPort && sport === callerPort && text.startsWith('INVITE ')) c.hopInviteIn ??= t;
      else if (sport === hopPort && dport !== callerPort && text.startsWith('INVITE ')) c.hopInviteOut ??= t;
      else if (dport === hopPort && sport !== callerPort && text.startsWith('SIP/2.0 200')) c.hop200In ??= t;
      else if (sport === hopPort && dport === callerPort && text.startsWith('SIP/2.0 200')) c.hop200Out ??= t;
    }
  }
  const inv180: number[] = [];
  const inv200: number[] = [];
  const hopInvite: number[] = [];
  const hop200: number[] = [];
  for (const c of calls.values()) {
    if (c.hopInviteIn !== undefined && c.hopInviteOut !== undefined) hopInvite.push(c.hopInviteOut - c.hopInviteIn);
    if (c.hop200In !== undefined && c.hop200Out !== undefined) hop200.push(c.hop200Out - c.hop200In);
    if (c.invite === undefined) continue;
    if (c.r180 !== undefined) inv180.push(c.r180 - c.invite);
    if (c.r200 !== undefined) inv200.push(c.r200 - c.invite);
  }
  return { inv180, inv200, hopInvite, hop200, packets, calls: calls.size };
}

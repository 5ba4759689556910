/** The kernel's UDP counters (/proc/net/snmp): RcvbufErrors counts datagrams dropped because a receive buffer was full. */
import { readFileSync } from 'node:fs';

export interface UdpCounters {
  InDatagrams: number;
  InErrors: number;
  RcvbufErrors: number;
  SndbufErrors: number;
}

export function udpCounters(): UdpCounters {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').trim().split(/\s+/).slice(1);
  const values = (lines[1] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const get = (k: string) => values[names.indexOf(k)] ?? 0;
  return { InDatagrams: get('InDatagrams'), InErrors: get('InErrors'), RcvbufErrors: get('RcvbufErrors'), SndbufErrors: get('SndbufErrors') };
}

export function udpDelta(before: UdpCounters, after: UdpCounters): UdpCounters {
  return {
    InDatagrams: after.InDatagrams - before.InDatagrams,
    InErrors: after.InErrors - before.InErrors,
    RcvbufErrors: after.RcvbufErrors - before.RcvbufErrors,
    SndbufErrors: after.SndbufErrors - before.SndbufErrors,
  };
}

/** The socket buffer limits in force (net.core.*mem_*), for the report. */
export function socketBufferSysctls(): Record<string, number> {
  const read = (k: string) => Number(readFileSync(`/proc/sys/net/core/${k}`, 'utf8').trim());
  return { rmem_max: read('rmem_max'), rmem_default: read('rmem_default'), wmem_max: read('wmem_max'), wmem_default: read('wmem_default') };
}

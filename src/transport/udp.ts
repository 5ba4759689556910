import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { SendQueue } from './sendQueue.js';

export interface Datagram {
  data: Buffer;
  host: string;
  port: number;
}

/**
 * The UDP transport (RFC 3261 §18): one socket; each datagram in becomes a call of `onDatagram`,
 * each message out a `send`. It knows addresses, nothing of SIP.
 */
export class UdpTransport {
  private socket: Socket | null = null;
  dropped = 0;

  constructor(private readonly onDatagram: (d: Datagram) => void, private readonly onError: (e: Error) => void) {}

  /** Binds; rejects with the system error (EADDRINUSE, EADDRNOTAVAIL...) when it cannot. */
  listen(host: string, port: number, bufferBytes = 8 * 1024 * 1024): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalFirstLookup });
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.onError(e));
        // Bursts of INVITEs must wait in the kernel, not be dropped (RcvbufErrors).
        try {
          socket.setRecvBufferSize(bufferBytes);
          socket.setSendBufferSize(bufferBytes);
        } catch {
          /* the kernel caps the size; the default still works */
        }
        socket.on('message', (data, rinfo) => this.onDatagram({ data, host: rinfo.address, port: rinfo.port }));
        this.socket = socket;
        const a = socket.address();
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /**
   * Queues one datagram (SendQueue: it leaves in a burst). A port out of range or an empty host
   * counts a drop; a name that does not resolve is reported through `onError` (Node's lookup).
   */
  send(data: Buffer, host: string, port: number): void {
    if (!this.socket) return;
    if (!(port > 0 && port < 65536) || host.length === 0) {
      this.dropped++;
      return;
    }
    this.queue.push(data, host, port);
  }

  /** Datagrams waiting for the end of the turn. */
  get queued(): number {
    return this.queue.length;
  }

  // No callback to send(): Node then tries a synchronous sendmsg() and allocates no completion
  // request; a datagram the kernel refuses is lost like any UDP datagram (retransmission covers
  // it), unseen. send() itself throws only on a closed socket or bad arguments: counted as drops.
  private readonly queue = new SendQueue(
    (data, host, port) => this.socket?.send(data, port, host),
    () => this.dropped++,
  );

  close(): Promise<void> {
    this.queue.flush();
    return new Promise((resolve) => {
      if (!this.socket) return resolve();
      this.socket.close(() => resolve());
      this.socket = null;
    });
  }
}

/**
 * Node resolves the address of every datagram sent; dns.lookup answers an IP literal (what a Via
 * or a Contact nearly always holds) only on the next tick. Answering it at once sends the datagram
 * without waiting for the next tick; names still go to the resolver.
 */
export function literalFirstLookup(hostname: string, options: LookupOneOptions | number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) return callback(null, hostname, family);
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

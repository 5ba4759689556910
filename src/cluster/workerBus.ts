import { createSocket, type Socket } from 'node:dgram';
import type { Address } from '../transport/viaAddressing.js';
import { literalFirstLookup } from '../transport/udp.js';

/**
 * How a worker hands a datagram it read to the worker that owns its Call-ID: one loopback UDP
 * socket per worker (its own, not the shared SIP socket), each frame the original datagram
 * prefixed with its source address, so the owner answers the phone that sent it (§18.2.2
 * received/rport come from the source). Frames are accepted only from the peers' own sockets.
 *
 * Frame: host length (1 byte), host (ASCII), port (2 bytes, big-endian), then the datagram.
 */
export class WorkerBus {
  private socket: Socket | null = null;
  private peers: number[] = [];
  private readonly peerPorts = new Set<number>();
  forwarded = 0;
  unsent = 0;
  rejected = 0;

  constructor(private readonly deliver: (data: Buffer, source: Address) => void) {}

  /** Binds 127.0.0.1 on a free port of its own (exclusive: not shared through the cluster). */
  open(bufferBytes = 8 * 1024 * 1024): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: 'udp4', lookup: literalFirstLookup });
      socket.once('error', reject);
      socket.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', () => this.rejected++);
        try {
          socket.setRecvBufferSize(bufferBytes);
          socket.setSendBufferSize(bufferBytes);
        } catch {
          /* capped by the kernel */
        }
        socket.on('message', (frame, rinfo) => this.onFrame(frame, rinfo.address, rinfo.port));
        this.socket = socket;
        resolve(socket.address().port);
      });
    });
  }

  /** The bus port of every worker, by worker index. */
  setPeers(ports: number[]): void {
    this.peers = ports;
    this.peerPorts.clear();
    for (const p of ports) this.peerPorts.add(p);
  }

  /** Passes a datagram to worker `owner`; false (and counted as unsent) when that worker has no bus now. */
  forward(owner: number, data: Buffer, source: Address): boolean {
    const port = this.peers[owner];
    // Port 0: that worker is being started again and has no bus yet.
    if (!this.socket || !port || source.host.length > 255) {
      this.unsent++;
      return false;
    }
    const hostLen = Buffer.byteLength(source.host, 'latin1');
    const frame = Buffer.allocUnsafe(3 + hostLen + data.length);
    frame[0] = hostLen;
    frame.write(source.host, 1, 'latin1');
    frame.writeUInt16BE(source.port, 1 + hostLen);
    data.copy(frame, 3 + hostLen);
    try {
      this.socket.send(frame, port, '127.0.0.1');
    } catch {
      this.unsent++;
      return false;
    }
    this.forwarded++;
    return true;
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }

  private onFrame(frame: Buffer, host: string, port: number): void {
    if (host !== '127.0.0.1' || !this.peerPorts.has(port) || frame.length < 3) {
      this.rejected++;
      return;
    }
    const hostLen = frame[0]!;
    if (frame.length < 3 + hostLen) {
      this.rejected++;
      return;
    }
    const source = { host: frame.toString('latin1', 1, 1 + hostLen), port: frame.readUInt16BE(1 + hostLen) };
    this.deliver(frame.subarray(3 + hostLen), source);
  }
}

import { createSocket, type Socket } from 'node:dgram';

/** A raw UDP peer on loopback for tests: send bytes, wait for the next datagram that matches. */
export class UdpClient {
  private readonly inbox: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (m) => {
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(host = '127.0.0.1'): Promise<UdpClient> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    return new UdpClient(s, s.address().port);
  }

  send(data: Buffer | string, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** The first datagram (already received or arriving within `ms`) whose text matches. */
  async waitFor(match: RegExp, ms = 2000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((b) => match.test(b.toString('latin1')));
      if (i >= 0) return this.inbox.splice(i, 1)[0]!.toString('utf8');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no datagram matching ${match} within ${ms} ms; got:\n${this.inbox.map((b) => b.toString('latin1').split('\r\n')[0]).join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

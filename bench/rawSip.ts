/**
 * A few SIP requests sent straight from Node's dgram: the callee's REGISTER (its contact is the
 * SIPp UAS), and an OPTIONS probe that tells when a server answers SIP at all.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { HOST } from './ports.js';

/**
 * Sends `build(localPort)` to host:port, retransmitting every 500 ms, until a response arrives
 * whose status line matches `accept`; resolves with the status line. Rejects after `timeoutMs`.
 */
function transaction(port: number, build: (localPort: number) => string, accept: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    let timer: NodeJS.Timeout | null = null;
    let retrans: NodeJS.Timeout | null = null;
    const done = (err: Error | null, line?: string) => {
      if (timer) clearTimeout(timer);
      if (retrans) clearInterval(retrans);
      sock.close();
      if (err) reject(err);
      else resolve(line!);
    };
    sock.on('error', (e) => done(e));
    sock.on('message', (buf) => {
      const line = buf.toString('latin1').split('\r\n')[0] ?? '';
      if (/^SIP\/2\.0 1\d\d/.test(line)) return;
      if (accept.test(line)) done(null, line);
      else done(new Error(`unexpected response: ${line}`));
    });
    sock.bind(0, HOST, () => {
      const msg = Buffer.from(build(sock.address().port), 'latin1');
      const send = () => sock.send(msg, port, HOST);
      send();
      retrans = setInterval(send, 500);
      timer = setTimeout(() => done(new Error(`no response from udp:${HOST}:${port} within ${timeoutMs} ms`)), timeoutMs);
    });
  });
}

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

/** REGISTER sip:user@127.0.0.1 -> Contact sip:user@127.0.0.1:contactPort, for an hour; expects 200. */
export function registerContact(serverPort: number, user: string, contactPort: number, timeoutMs = 5000): Promise<string> {
  const id = randomBytes(6).toString('hex');
  return transaction(
    serverPort,
    (local) =>
      crlf([
        `REGISTER sip:${HOST}:${serverPort} SIP/2.0`,
        `Via: SIP/2.0/UDP ${HOST}:${local};branch=z9hG4bK-bench-${id}`,
        'Max-Forwards: 70',
        `From: <sip:${user}@${HOST}>;tag=bench-${id}`,
        `To: <sip:${user}@${HOST}>`,
        `Call-ID: bench-register-${id}`,
        'CSeq: 1 REGISTER',
        `Contact: <sip:${user}@${HOST}:${contactPort}>`,
        'Expires: 3600',
        'Content-Length: 0',
      ]),
    /^SIP\/2\.0 200 /,
    timeoutMs,
  );
}

/** OPTIONS to the server itself: any final response means it is up and routing. */
export function probe(serverPort: number, timeoutMs = 5000): Promise<string> {
  const id = randomBytes(6).toString('hex');
  return transaction(
    serverPort,
    (local) =>
      crlf([
        `OPTIONS sip:nobody@${HOST}:${serverPort} SIP/2.0`,
        `Via: SIP/2.0/UDP ${HOST}:${local};branch=z9hG4bK-probe-${id}`,
        'Max-Forwards: 70',
        `From: <sip:probe@${HOST}>;tag=probe-${id}`,
        `To: <sip:nobody@${HOST}>`,
        `Call-ID: bench-probe-${id}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
      ]),
    /^SIP\/2\.0 [2-6]\d\d /,
    timeoutMs,
  );
}

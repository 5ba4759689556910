/** A small deterministic PRNG (mulberry32), so a fuzz run can be repeated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = ['', ' ', ',', ';', ':', '<', '>', '"', '\\', '\r\n', '\n', '\r', '\t', '\0', '=', '@', '[', ']', '%', '99999999999', '-1', '4294967296', 'é', '\u{1F600}', 'z9hG4bK', 'SIP/2.0', ';lr', ';tag=', ';branch=', 'sips:', 'tel:+1', 'x'.repeat(3000)];

/**
 * One mutation of a message: flips, cuts, repeats, inserts nasty tokens, shuffles or duplicates
 * header lines, changes numbers. Addresses stay what they were (loopback in the corpus), except
 * where bytes are flipped at random; the fuzz runner isolates the proxy so nothing leaves it.
 */
export function mutate(input: string, rnd: () => number): Buffer {
  let s = input;
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const at = () => Math.floor(rnd() * (s.length + 1));
  const rounds = 1 + Math.floor(rnd() * 4);
  for (let r = 0; r < rounds; r++) {
    switch (Math.floor(rnd() * 9)) {
      case 0: {
        const i = at();
        s = s.slice(0, i) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(i + 1);
        break;
      }
      case 1: {
        const i = at();
        s = s.slice(0, i) + s.slice(i + Math.floor(rnd() * 40));
        break;
      }
      case 2: {
        const i = at();
        s = s.slice(0, i) + pick(NASTY) + s.slice(i);
        break;
      }
      case 3: {
        const lines = s.split('\r\n');
        const i = 1 + Math.floor(rnd() * Math.max(1, lines.length - 1));
        const times = pick([1, 2, 10, 300]);
        lines.splice(i, 0, ...Array<string>(times).fill(lines[i] ?? ''));
        s = lines.join('\r\n');
        break;
      }
      case 4: {
        const lines = s.split('\r\n');
        const i = Math.floor(rnd() * lines.length);
        const j = Math.floor(rnd() * lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\r\n');
        break;
      }
      case 5:
        s = s.replace(/\d+/, () => pick(['0', '-1', '70', '4294967295', '99999999999999999999', '']));
        break;
      case 6:
        s = s.slice(0, at());
        break;
      case 7:
        s = s.replace(/Content-Length: \d+/i, `Content-Length: ${pick(['0', '5', '100000', 'abc', '-3', ''])}`);
        break;
      default: {
        const i = at();
        const n = Math.floor(rnd() * 64);
        let junk = '';
        for (let k = 0; k < n; k++) junk += String.fromCharCode(Math.floor(rnd() * 256));
        s = s.slice(0, i) + junk + s.slice(i);
      }
    }
  }
  return Buffer.from(s, rnd() < 0.5 ? 'utf8' : 'latin1');
}

/** Random bytes, sometimes with a SIP-looking start. */
export function randomDatagram(rnd: () => number): Buffer {
  const n = Math.floor(rnd() * 1500);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  if (rnd() < 0.3) return Buffer.concat([Buffer.from(rnd() < 0.5 ? 'INVITE sip:a@127.0.0.1 SIP/2.0\r\n' : 'SIP/2.0 200 OK\r\n'), b]);
  return b;
}

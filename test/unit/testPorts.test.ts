import test from 'ava';
import { readFileSync } from 'node:fs';
import { freePort } from '../helpers/ports.js';

test('test ports come from below the kernel\'s ephemeral range, never twice in a process', async (t) => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  t.is(new Set(ports).size, 50);
  if (low > 12_000) for (const p of ports) t.true(p >= 10_000 && p < low, `${p} below ${low}`);
  else t.pass('an unusual ephemeral range: bind(0) ports');
});

/**
 * The programs the benchmark drives. It never installs anything: it says which Debian packages
 * provide what is missing, and the harness exits 1.
 */
import { execFileSync } from 'node:child_process';

export interface Program {
  name: string;
  /** The Debian package that provides it. */
  pkg: string;
  /** Needed for every run, or only for some figures. */
  required: boolean;
  purpose: string;
}

export const PROGRAMS: Program[] = [
  { name: 'sipp', pkg: 'sip-tester', required: true, purpose: 'the SIP load generator' },
  { name: 'kamailio', pkg: 'kamailio', required: true, purpose: 'the reference proxy' },
  { name: 'kamcmd', pkg: 'kamailio', required: true, purpose: "reads Kamailio's memory and counters" },
  { name: 'taskset', pkg: 'util-linux', required: true, purpose: 'pins the servers and SIPp to their cores' },
  { name: 'ss', pkg: 'iproute2', required: false, purpose: 'reads the effective socket receive buffers' },
  { name: 'dumpcap', pkg: 'wireshark-common (or tshark)', required: false, purpose: 'wire latency from a loopback capture' },
];

/**
 * Debian installs kamailio and kamcmd in /usr/sbin, which a normal user's PATH leaves out: the
 * benchmark adds the system directories to its own PATH (and so its children's) before it looks.
 */
export function withSystemDirs(): void {
  const dirs = (process.env['PATH'] ?? '').split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  process.env['PATH'] = dirs.join(':');
}

export function which(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export interface Check {
  missing: Program[];
  optionalMissing: Program[];
  found: Record<string, string>;
}

export function checkPrograms(): Check {
  withSystemDirs();
  const found: Record<string, string> = {};
  const missing: Program[] = [];
  const optionalMissing: Program[] = [];
  for (const p of PROGRAMS) {
    const at = which(p.name);
    if (at) found[p.name] = at;
    else (p.required ? missing : optionalMissing).push(p);
  }
  return { missing, optionalMissing, found };
}

export function describeMissing(c: Check): string {
  const pkgs = [...new Set(c.missing.map((p) => p.pkg))];
  return [
    'The benchmark needs programs that are not installed:',
    ...c.missing.map((p) => `  ${p.name.padEnd(9)} (${p.purpose}): Debian package ${p.pkg}`),
    '',
    `Install them with:  apt-get install ${pkgs.join(' ')}`,
    'The benchmark installs nothing itself.',
  ].join('\n');
}

/**
 * User-Agent values of known SIP scanners and war-dialers (SIPVicious and its kin). Requests from
 * them are dropped without an answer: a reply would only confirm that a SIP server lives here.
 */
export const DEFAULT_SCANNER_AGENTS: readonly string[] = [
  'friendly-scanner',
  'sipvicious',
  'sipcli',
  'sip-scan',
  'sipscan',
  'VaxSIPUserAgent',
  'iWar',
  'sundayddr',
  'SIVuS',
  'smap',
  'sipsak-scan',
  'pplsip',
  'Cisco-SIPGateway/IOS-12.x',
];

/** A case-insensitive substring matcher over a list of agent names (or /regex/ entries). */
export function scannerMatcher(agents: readonly string[]): (userAgent: string | undefined) => boolean {
  const patterns = agents.map((a) => (a.length > 2 && a.startsWith('/') && a.endsWith('/') ? new RegExp(a.slice(1, -1), 'i') : a.toLowerCase()));
  return (ua) => {
    if (!ua) return false;
    const lower = ua.toLowerCase();
    return patterns.some((p) => (typeof p === 'string' ? lower.includes(p) : p.test(ua)));
  };
}

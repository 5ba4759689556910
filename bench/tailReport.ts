/**
 * The tail run's own part of BENCHMARKS.md (npm run bench:tail): the INVITE's time inside each
 * proxy once it has carried the load a while, between the tail markers.
 */
import { int, latencyOf, mdTable, ms, partHeader, ratio, type Markers, type Results } from './report.js';
import type { LatencyResult } from './latency.js';

export const TAIL_MARKERS: Markers = { begin: '<!-- tail:begin -->', end: '<!-- tail:end -->' };

const loadFailures = (l: LatencyResult | undefined) => (l ? `${int(l.loadBeforeFailed)} of its calls failed` : 'not run');

export function tailMarkdown(r: Results): string {
  const o = r.options;
  const head = partHeader(r, 'tail');
  const errors = r.errors.map((x) => `- Error: ${x}`);
  const s = latencyOf(r.tail, 'sipstate');
  const k = latencyOf(r.tail, 'kamailio');
  if (!s && !k) return [head, '', 'The tail run did not complete: see the errors below.', ...errors].join('\n');
  const inv = (l: LatencyResult | undefined) => l?.wire?.hopInvite;
  const row = (name: string, l: LatencyResult | undefined): string[] => {
    if (!l) return [name, 'not run', '', '', '', '', ''];
    const h = inv(l);
    return [name, `${int(l.successful)} / ${int(l.planned)}`, ms(h?.p50), ms(h?.p95), ms(h?.p99), ms(h?.max), ms(l.wire?.hop200.p99)];
  };
  return [
    head,
    '',
    `**INVITE inside the proxy at ${int(o.hopRate)} calls/s, after ${o.tailLoadSeconds} s of that load, over the next ${o.tailSeconds} s: ` +
      `p99 ${ms(inv(s)?.p99)} for sipstate, ${ms(inv(k)?.p99)} for Kamailio (${ratio(inv(s)?.p99, inv(k)?.p99)} ×).**`,
    '',
    `Each server fresh and warmed up, then carrying \`bench/sipp/uac.xml\` at ${int(o.hopRate)} calls/s for ${o.tailLoadSeconds} s ` +
      `(${loadFailures(s)} for sipstate, ${loadFailures(k)} for Kamailio), the capture (dumpcap) starting 2 s before that load ends; then a second SIPp ` +
      `carries the same rate for ${o.tailSeconds} s, whose calls are measured. Time inside the proxy is packet in to packet out, ` +
      `as in the main run's "time inside the proxy" rows, which measure a fresh server for ${o.latencySeconds} s. sipstate's transactions linger ` +
      '32 s after they end (64×T1), so by the capture its heap carries what a steady load keeps alive (profile finding 23).' +
      [s, k].map((l) => (l?.wireNote ? ` ${l.target}: ${l.wireNote}.` : '')).join(''),
    '',
    mdTable(['server', 'calls completed', 'INVITE p50', 'INVITE p95', 'INVITE p99', 'INVITE longest', '200 OK p99'], [row('sipstate', s), row('Kamailio', k)]),
    ...(errors.length ? ['', ...errors] : []),
    '',
  ].join('\n');
}

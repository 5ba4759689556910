import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Segment files are numbered: segment-000001.jsonl, segment-000002.jsonl, ... */
const SEGMENT = /^segment-(\d{6,})\.jsonl$/;

export function segmentName(n: number): string {
  return `segment-${String(n).padStart(6, '0')}.jsonl`;
}

/** The segments of a journal folder in order, as [number, full path]. */
export function listSegments(dir: string): Array<{ n: number; file: string; name: string }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: SEGMENT.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ n: Number(m[1]), file: path.join(dir, name), name }))
    .sort((a, b) => a.n - b.n);
}

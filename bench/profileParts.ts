/**
 * Reading a V8 .cpuprofile (`node --cpu-prof`): which functions and which parts of the code the
 * samples fell in. Used by `npm run bench:profile` and behind the profile findings in BENCHMARKS.md.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Self time per function (name and file:line), as a share of all samples. */
export function topSelf(profile: CpuProfile, n: number): Array<{ share: number; name: string }> {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*?\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return shares(counts, profile.samples.length).slice(0, n).map(([name, share]) => ({ share, name }));
}

/** The part of the code a frame's script belongs to, or null for V8's and Node's own code. */
function partOf(url: string): string | null {
  if (/node_modules\/xstate\//.test(url)) return 'xstate';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  // The scripted user agents of bench/hotpath.ts and the warm-up: traffic, not the proxy.
  if (/\/dist\/src\/actors\/syntheticTraffic\.js/.test(url)) return 'bench driver';
  const ours = /\/dist\/src\/([^/]+)/.exec(url);
  if (ours) return `sipstate ${ours[1]}`;
  if (/\/dist\/(bench|test)\//.test(url)) return 'bench driver';
  return null;
}

/** Self time by where the code lives: XState, other packages, our modules, Node itself, GC, idle. */
export function selfByPart(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    let part = partOf(f.url);
    if (part === null) {
      if (f.url.startsWith('node:')) part = 'node';
      else part = f.functionName.startsWith('(') ? f.functionName : `native ${f.functionName}`;
    }
    parts.set(part, (parts.get(part) ?? 0) + 1);
  }
  return shares(parts, profile.samples.length);
}

/**
 * Time by the code that asked for it: each sample goes to the innermost frame of the stack that
 * belongs to a part (selfByPart's), so the built-ins a part calls (a `new Set`, `Array.prototype.sort`,
 * a RegExp) and Node's functions it calls count as its own. Node's sockets and timers count as
 * the part that sent or scheduled. GC, idle and "(program)" (V8 and libuv outside JavaScript)
 * stay apart: GC is paid for by whoever allocates, which a CPU profile cannot tell.
 */
export function timeByOwner(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owners = new Map<string, number>();
  for (const id of profile.samples) {
    const leaf = byId.get(id)!.callFrame.functionName;
    let owner: string | null = leaf === '(garbage collector)' || leaf === '(idle)' || leaf === '(program)' ? leaf : null;
    for (let q: number | undefined = id; owner === null && q !== undefined; q = parent.get(q)) owner = partOf(byId.get(q)!.callFrame.url);
    owner ??= 'node (nothing of ours on the stack)';
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
  }
  return shares(owners, profile.samples.length);
}

function shares(counts: Map<string, number>, total: number): Array<[string, number]> {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, c]) => [k, c / total]);
}

/** A node of a sampling heap profile (`HeapProfiler.stopSampling`): bytes allocated at one stack. */
export interface HeapProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapProfileNode[];
}

/**
 * Bytes allocated by the code that asked for them, with timeByOwner's rule: the innermost frame of
 * the stack that belongs to a part (so a `new Set` inside XState counts for XState). With the
 * sampler told to keep what young and full collections freed, this is the allocation rate's split,
 * which sets how often V8 scavenges. `bytes`: all the samples stand for (the sampler scales them).
 */
export function allocationByOwner(head: HeapProfileNode): { bytes: number; owners: Array<[string, number]> } {
  const owners = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapProfileNode, owner: string | null): void => {
    const own = partOf(node.callFrame.url) ?? owner;
    if (node.selfSize > 0) {
      const k = own ?? 'node (nothing of ours on the stack)';
      owners.set(k, (owners.get(k) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children) walk(c, own);
  };
  walk(head, null);
  return { bytes: total, owners: shares(owners, total) };
}

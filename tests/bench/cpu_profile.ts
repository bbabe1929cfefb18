/**
 * Reads a V8 `.cpuprofile` (what `deno run --cpu-prof` writes) into the few
 * numbers that point at waste: self and inclusive time per function, and how
 * busy time splits between the gateway's code, libraries and the runtime.
 */

/** The parts of V8's `.cpuprofile` JSON that are read here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Time spent in one function (all its call sites merged). */
export interface FunctionCost {
  name: string;
  /** `path:line` relative to the repo root when inside it, else the script URL. */
  location: string;
  selfMs: number;
  /** Self plus callees, counted once even under recursion. */
  totalMs: number;
}

/** A profile reduced to what the bench report shows. */
export interface ProfileSummary {
  /** Sampled time minus `(idle)`. */
  busyMs: number;
  /** Self time by where the code lives: src/, deploy/, npm packages, runtime, GC… */
  buckets: { bucket: string; selfMs: number }[];
  /** Functions in the repo's `src/`, by self time. */
  own: FunctionCost[];
  /** Functions in the repo's `src/`, by inclusive time: which stage costs most. */
  ownByTotal: FunctionCost[];
  /** All functions, by self time. */
  overall: FunctionCost[];
}

const IDLE = "(idle)";
/** Frames V8 adds for time outside JavaScript functions. */
const V8_PSEUDO_FRAMES = new Set([
  IDLE,
  "(root)",
  "(program)",
  "(garbage collector)",
]);

function bucketOf(url: string, name: string, repoRoot: string): string {
  if (url.startsWith(repoRoot + "src/")) return "gateway src/";
  if (url.startsWith(repoRoot + "deploy/")) return "gateway deploy/";
  if (url.includes("/node_modules/")) {
    const match =
      /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/
        .exec(url);
    return `npm ${match?.[1] ?? "package"}`;
  }
  if (url.startsWith("ext:") || url.startsWith("node:")) {
    return "Deno runtime (JS)";
  }
  if (url === "") {
    return V8_PSEUDO_FRAMES.has(name) ? name : "native / builtins";
  }
  return "other scripts";
}

function locate(url: string, line: number, repoRoot: string): string {
  if (url === "") return "(native)";
  const path = url.startsWith(repoRoot) ? url.slice(repoRoot.length) : url;
  return `${path}:${line + 1}`;
}

/**
 * Summarises `profile`; `repoRoot` is the repo's file URL with a trailing
 * slash (e.g. `file:///work/main/`), used to tell the gateway's code apart.
 */
export function summarizeProfile(
  profile: CpuProfile,
  repoRoot: string,
  limit = 15,
): ProfileSummary {
  const sampleMs = profile.samples.length
    ? (profile.endTime - profile.startTime) / 1000 / profile.samples.length
    : 0;
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const keyOf = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || "(anonymous)"}\u0000${url}\u0000${lineNumber}`;
  };

  // Subtree hits per node, children before parents (iterative post-order).
  const subtree = new Map<number, number>();
  const order: number[] = [];
  const pending = [profile.nodes[0].id];
  while (pending.length > 0) {
    const id = pending.pop()!;
    order.push(id);
    pending.push(...(byId.get(id)!.children ?? []));
  }
  for (const id of order.toReversed()) {
    const childHits = (byId.get(id)!.children ?? [])
      .reduce((sum, child) => sum + subtree.get(child)!, 0);
    subtree.set(id, (hits.get(id) ?? 0) + childHits);
  }

  // Inclusive time per function: a node counts unless an ancestor is the same function.
  const totals = new Map<string, number>();
  const selfs = new Map<string, number>();
  const walk: { id: number; active: Set<string> }[] = [{
    id: profile.nodes[0].id,
    active: new Set(),
  }];
  while (walk.length > 0) {
    const { id, active } = walk.pop()!;
    const key = keyOf(id);
    selfs.set(key, (selfs.get(key) ?? 0) + (hits.get(id) ?? 0));
    if (!active.has(key)) {
      totals.set(key, (totals.get(key) ?? 0) + subtree.get(id)!);
    }
    const inner = active.has(key) ? active : new Set(active).add(key);
    for (const child of byId.get(id)!.children ?? []) {
      walk.push({ id: child, active: inner });
    }
  }

  const costs: (FunctionCost & { url: string })[] = [...selfs].map(
    ([key, self]) => {
      const [name, url, line] = key.split("\u0000");
      return {
        name,
        url,
        location: locate(url, Number(line), repoRoot),
        selfMs: self * sampleMs,
        totalMs: (totals.get(key) ?? 0) * sampleMs,
      };
    },
  ).sort((a, b) => b.selfMs - a.selfMs);

  const bucketMs = new Map<string, number>();
  for (const cost of costs) {
    const bucket = bucketOf(cost.url, cost.name, repoRoot);
    bucketMs.set(bucket, (bucketMs.get(bucket) ?? 0) + cost.selfMs);
  }
  const idleMs = bucketMs.get(IDLE) ?? 0;
  bucketMs.delete(IDLE);
  const own = costs.filter((c) => c.url.startsWith(repoRoot + "src/"));
  const strip = ({ url: _url, ...cost }: FunctionCost & { url: string }) =>
    cost;
  return {
    busyMs: profile.samples.length * sampleMs - idleMs,
    buckets: [...bucketMs].filter(([, selfMs]) => selfMs > 0)
      .map(([bucket, selfMs]) => ({ bucket, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
    own: own.slice(0, limit).map(strip),
    ownByTotal: own.toSorted((a, b) => b.totalMs - a.totalMs).slice(0, limit)
      .map(strip),
    overall: costs.filter((c) => c.name !== IDLE).slice(0, limit).map(strip),
  };
}

/**
 * Runs another bench server (`BENCH_SAMPLED`, a module URL) under V8's
 * sampling heap profiler, driven by signals so only the measured load is
 * counted: SIGUSR2 starts sampling, SIGUSR1 stops it and writes
 * `BENCH_HEAP_OUT` (JSON: bytes allocated, and the allocation sites by
 * bytes, each site as its four innermost frames), then prints
 * `{"msg":"heap-written"}`. Objects a young-generation GC collected are
 * counted: what is measured is allocation, the work the GC is given.
 */
import { Session } from "node:inspector";

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** One sample per this many bytes allocated, on average. */
const SAMPLING_INTERVAL_BYTES = 1024;
const SITES_KEPT = 25;

const session = new Session();
session.connect();
function post<T>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(
      method,
      params,
      (error: Error | null, result?: object) =>
        error ? reject(error) : resolve(result as T),
    )
  );
}

/** `name path:line`, the path relative to `src/`, `hono/` or Deno's `ext:`. */
function frameName({ callFrame }: SamplingNode): string {
  const path = callFrame.url
    .replace(/^.*\/(src|deploy|tests)\//, "$1/")
    .replace(/^.*node_modules\/.*\/hono\/dist\//, "hono/")
    .replace(/^ext:/, "");
  return `${
    callFrame.functionName || "(anonymous)"
  } ${path}:${callFrame.lineNumber}`;
}

function summarize(
  head: SamplingNode,
): { bytes: number; sites: [string, number][] } {
  const sites = new Map<string, number>();
  let bytes = 0;
  const visit = (node: SamplingNode, stack: string[]) => {
    const frames = [frameName(node), ...stack].slice(0, 4);
    if (node.selfSize > 0) {
      const site = frames.join(" ← ");
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
      bytes += node.selfSize;
    }
    for (const child of node.children) visit(child, frames);
  };
  visit(head, []);
  const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, SITES_KEPT);
  return { bytes, sites: top };
}

await post("HeapProfiler.enable");
Deno.addSignalListener("SIGUSR2", () => {
  post("HeapProfiler.startSampling", {
    samplingInterval: SAMPLING_INTERVAL_BYTES,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
});
Deno.addSignalListener("SIGUSR1", async () => {
  const { profile } = await post<{ profile: { head: SamplingNode } }>(
    "HeapProfiler.stopSampling",
  );
  await Deno.writeTextFile(
    Deno.env.get("BENCH_HEAP_OUT")!,
    JSON.stringify(summarize(profile.head)),
  );
  console.log(JSON.stringify({ msg: "heap-written" }));
});
await import(Deno.env.get("BENCH_SAMPLED")!);

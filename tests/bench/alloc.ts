/**
 * Bytes allocated per request by the floor, Hono's `proxy()`, the floor with
 * the contract's duties and the gateway, with the gateway's top allocation
 * sites (`--alloc`). Unlike CPU time, which moves 5–10 % with this machine's
 * phase and each process's luck, allocation repeats to within a few percent:
 * it is how a change to the hot path is judged before the interleaved table
 * can tell it from noise. What is allocated per request is also what the
 * young-generation GC is given.
 */
import type { BenchPlan } from "./flags.ts";
import { startGateway } from "./gateway.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { startBenchServer } from "./proxies.ts";
import { runWrk } from "./wrk.ts";

const SERVERS = new URL("./servers/", import.meta.url);
/** The sampling wrapper, in `servers/` beside what it runs. */
const WRAPPER_FILE = "heap_sampled.ts";
const WRAPPER = decodeURIComponent(new URL(WRAPPER_FILE, SERVERS).pathname);
/** How long the profile may take to be written after SIGUSR1. */
const WRITE_TIMEOUT_MS = 10_000;

/** One proxy's allocation under the bench's load. */
export interface AllocationRow {
  label: string;
  bytesPerRequest: number;
  /** Allocation sites (four innermost frames) by bytes per request. */
  sites: [string, number][];
}

interface Sampled {
  process: ManagedProcess;
  port: number;
  out: string;
}

/** Measures each proxy in turn: warm-up, then sampling over one timed wrk run. */
export async function measureAllocation(
  group: ProcessGroup,
  originPort: number,
  plan: BenchPlan,
  cpus: { proxy: string | null; load: string | null },
): Promise<AllocationRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-alloc-" });
  try {
    const rows: AllocationRow[] = [];
    const origin = `http://127.0.0.1:${originPort}`;
    for (
      const [label, start] of [
        [
          "floor",
          () => startServer(group, "floor.ts", origin, cpus.proxy, dir),
        ],
        [
          "Hono `proxy()`",
          () => startServer(group, "hono_proxy.ts", origin, cpus.proxy, dir),
        ],
        [
          "floor + duties",
          () => startServer(group, "duties.ts", origin, cpus.proxy, dir),
        ],
        [
          "gateway",
          () => startSampledGateway(group, originPort, cpus.proxy, dir),
        ],
      ] as const
    ) {
      const sampled = await start();
      try {
        rows.push({ label, ...await sample(group, sampled, plan, cpus.load) });
      } finally {
        await group.stop(sampled.process);
      }
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function startServer(
  group: ProcessGroup,
  file: string,
  origin: string,
  cpus: string | null,
  dir: string,
): Promise<Sampled> {
  const out = `${dir}/${file}.json`;
  const started = await startBenchServer(group, WRAPPER_FILE, cpus, {
    BENCH_ORIGIN: origin,
    BENCH_SAMPLED: new URL(file, SERVERS).href,
    BENCH_HEAP_OUT: out,
  });
  return { ...started, out };
}

async function startSampledGateway(
  group: ProcessGroup,
  originPort: number,
  cpus: string | null,
  dir: string,
): Promise<Sampled> {
  const out = `${dir}/gateway.json`;
  const started = await startGateway(group, originPort, cpus, {
    wrapper: { script: WRAPPER, env: { BENCH_HEAP_OUT: out } },
  });
  return { ...started, out };
}

async function sample(
  group: ProcessGroup,
  { process, port, out }: Sampled,
  plan: BenchPlan,
  loadCpus: string | null,
): Promise<Omit<AllocationRow, "label">> {
  const run = {
    url: `http://127.0.0.1:${port}/`,
    connections: plan.connections,
    cpus: loadCpus,
  };
  await runWrk(group, { ...run, durationSeconds: plan.warmupSeconds });
  Deno.kill(process.pid, "SIGUSR2");
  const measured = await runWrk(group, {
    ...run,
    durationSeconds: plan.loadSeconds,
  });
  Deno.kill(process.pid, "SIGUSR1");
  const { bytes, sites } = await readWhenWritten(out);
  const requests = measured.requestsPerSecond * plan.loadSeconds;
  return {
    bytesPerRequest: bytes / requests,
    sites: sites.map(([site, siteBytes]) => [site, siteBytes / requests]),
  };
}

/** The wrapper's summary, once written (polled: it comes from another process). */
async function readWhenWritten(
  path: string,
): Promise<{ bytes: number; sites: [string, number][] }> {
  const deadline = Date.now() + WRITE_TIMEOUT_MS;
  for (;;) {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`no heap profile in ${WRITE_TIMEOUT_MS} ms: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The `--alloc` section of the report. */
export function renderAllocation(rows: AllocationRow[]): string {
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  const lines = [
    "## Allocation per request (`--alloc`)",
    "",
    "V8's sampling heap profiler over one timed wrk run after the warm-up, objects",
    "the GC collected included (see tests/bench/alloc.ts).",
    "",
    "| proxy | KiB allocated per request |",
    "| --- | --- |",
    ...rows.map((row) => `| ${row.label} | ${kb(row.bytesPerRequest)} |`),
  ];
  const gateway = rows.find((row) => row.label === "gateway");
  if (gateway !== undefined) {
    lines.push(
      "",
      "The gateway's allocation sites (innermost frame first), bytes per request:",
      "",
      "```",
      ...gateway.sites.map(([site, bytes]) =>
        `${bytes.toFixed(0).padStart(6)}  ${site}`
      ),
      "```",
    );
  }
  return lines.join("\n") + "\n";
}

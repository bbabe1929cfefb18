/** The measurements taken of each proxy, in one place so every row is measured alike. */
import { type BigBodyResult, measureBigBody } from "./big_body.ts";
import type { BenchPlan } from "./flags.ts";
import type { ProcessGroup } from "./processes.ts";
import { measureChunkLags, median } from "./stream_lag.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** What was measured of one proxy besides the interleaved load. */
export interface ProxyMeasurements {
  /** Median per-chunk lag through the proxy minus the same direct, ms. */
  addedStreamLagMs?: number;
  /** One download per round, in round order. */
  bigBody?: BigBodyResult[];
  /** The first failure, when a stage failed. */
  error?: string;
}

/** What the origin does alone, the baseline for the stream and big-body columns. */
export interface DirectBaseline {
  load: WrkResult;
  streamLagMs: number;
  megabytesPerSecond: number;
}

const SMALL_BODY_BYTES = 1024;

/** Fails unless `baseUrl/` answers the origin's 1 KiB: a fast error page is not a result. */
export async function checkProxy(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/`);
  const body = await response.text();
  if (response.status !== 200 || body.length !== SMALL_BODY_BYTES) {
    throw new Error(
      `GET / answered ${response.status} with ${body.length} bytes: ${
        body.slice(0, 200)
      }`,
    );
  }
}

/** wrk for the warm-up, then the timed wrk run, both on `clientCpus`. */
export async function loadWithWarmup(
  group: ProcessGroup,
  baseUrl: string,
  plan: BenchPlan,
  clientCpus: string | null,
): Promise<WrkResult> {
  const run = {
    url: `${baseUrl}/`,
    connections: plan.connections,
    cpus: clientCpus,
  };
  await runWrk(group, { ...run, durationSeconds: plan.warmupSeconds });
  return await runWrk(group, { ...run, durationSeconds: plan.loadSeconds });
}

/**
 * Measures the origin with no proxy, with the same clients: the harness's
 * ceiling (wrk and the origin share a core) and the stream and big-body baselines.
 */
export async function measureDirect(
  group: ProcessGroup,
  originUrl: string,
  plan: BenchPlan,
  clientCpus: string | null,
): Promise<DirectBaseline> {
  const lags = await measureChunkLags(
    originUrl,
    plan.streamChunks,
    plan.streamIntervalMs,
  );
  const big = await measureBigBody(
    group,
    originUrl,
    plan.bigBodyBytes,
    null,
    clientCpus,
  );
  return {
    load: await loadWithWarmup(group, originUrl, plan, clientCpus),
    streamLagMs: median(lags),
    megabytesPerSecond: big.megabytesPerSecond,
  };
}

/** Stream lag through the proxy at `baseUrl`, against the direct baseline. */
export async function measureStreamLag(
  baseUrl: string,
  plan: BenchPlan,
  direct: DirectBaseline,
): Promise<number> {
  const lags = await measureChunkLags(
    baseUrl,
    plan.streamChunks,
    plan.streamIntervalMs,
  );
  return median(lags) - direct.streamLagMs;
}

/**
 * `plan.bigBodyRounds` rounds of one big download per proxy, in turn, so
 * each proxy's throughput can be paired with the floor's of the same round.
 */
export async function measureBigBodies(
  group: ProcessGroup,
  targets: readonly { kind: string; url: string; pid: number }[],
  plan: BenchPlan,
  clientCpus: string | null,
  log: (line: string) => void,
): Promise<Map<string, BigBodyResult[] | string>> {
  const results = new Map<string, BigBodyResult[] | string>();
  for (let round = 0; round < plan.bigBodyRounds; round++) {
    log(`  big body round ${round + 1} of ${plan.bigBodyRounds}`);
    for (const target of targets) {
      const soFar = results.get(target.kind) ?? [];
      if (typeof soFar === "string") continue;
      try {
        soFar.push(
          await measureBigBody(
            group,
            target.url,
            plan.bigBodyBytes,
            target.pid,
            clientCpus,
          ),
        );
        results.set(target.kind, soFar);
      } catch (error) {
        results.set(
          target.kind,
          error instanceof Error ? error.message : String(error),
        );
      }
    }
  }
  return results;
}

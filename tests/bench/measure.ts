/** The measurements taken of each proxy, in one place so every row is measured alike. */
import { type BigBodyResult, measureBigBody } from "./big_body.ts";
import type { BenchPlan } from "./flags.ts";
import type { ProcessGroup } from "./processes.ts";
import { measureChunkLags, median } from "./stream_lag.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** What was measured of one proxy; fields stay unset past a failure. */
export interface ProxyMeasurements {
  load?: WrkResult;
  /** Median per-chunk lag through the proxy minus the same direct, ms. */
  addedStreamLagMs?: number;
  bigBody?: BigBodyResult;
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
async function checkAnswersOrigin(baseUrl: string): Promise<void> {
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

/**
 * Load (wrk after a warm-up), stream lag and a big streamed body through the
 * proxy at `baseUrl`, whose process is `pid`. Clients run on `clientCpus`.
 */
export async function measureProxy(
  group: ProcessGroup,
  baseUrl: string,
  pid: number,
  plan: BenchPlan,
  clientCpus: string | null,
  direct: DirectBaseline,
  log: (line: string) => void,
): Promise<ProxyMeasurements> {
  const measured: ProxyMeasurements = {};
  try {
    await checkAnswersOrigin(baseUrl);
    log(`  warm-up ${plan.warmupSeconds} s, then wrk ${plan.loadSeconds} s`);
    measured.load = await loadWithWarmup(group, baseUrl, plan, clientCpus);
    log(
      `  stream lag: ${plan.streamChunks} chunks every ${plan.streamIntervalMs} ms`,
    );
    const lags = await measureChunkLags(
      baseUrl,
      plan.streamChunks,
      plan.streamIntervalMs,
    );
    measured.addedStreamLagMs = median(lags) - direct.streamLagMs;
    log(`  big body: ${plan.bigBodyBytes} bytes`);
    measured.bigBody = await measureBigBody(
      group,
      baseUrl,
      plan.bigBodyBytes,
      pid,
      clientCpus,
    );
  } catch (error) {
    measured.error = error instanceof Error ? error.message : String(error);
  }
  return measured;
}

/** Drives a server with wrk and reads throughput and latency from its report. */
import type { ProcessGroup } from "./processes.ts";

/** What one wrk run measured. */
export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses outside 2xx/3xx plus socket errors: a fast wrong answer is no win. */
  errors: number;
  /** Requests completed in the run. */
  requests?: number;
  /** CPU time the proxy spent per request in the run, µs (interleaved runs). */
  cpuUsPerRequest?: number;
}

/** One wrk invocation. */
export interface WrkRun {
  url: string;
  connections: number;
  durationSeconds: number;
  /** CPU list for taskset; `null` runs wrk unpinned. */
  cpus: string | null;
  /** Extra request headers, `name: value` each (wrk itself sends only Host). */
  headers?: readonly string[];
}

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
};

function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) throw new Error(`Cannot read wrk latency as it is "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/**
 * Reads req/s, p50, p99 and error counts from wrk's `--latency` output.
 *
 * @example
 * ```ts
 * const out = "  Latency Distribution\n     50%    5.12ms\n     99%   13.00ms\nRequests/sec:   9450.00\n";
 * parseWrkOutput(out); // { requestsPerSecond: 9450, p50Ms: 5.12, p99Ms: 13, errors: 0 }
 * ```
 */
export function parseWrkOutput(output: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  if (!rps || !p50 || !p99) {
    throw new Error(
      `Cannot read wrk output as it lacks req/s or latency:\n${output}`,
    );
  }
  const requests = /^\s*(\d+) requests in/m.exec(output);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
      output,
    );
  const socketErrors = socket
    ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0)
    : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: durationMs(p50[1]),
    p99Ms: durationMs(p99[1]),
    errors: Number(non2xx?.[1] ?? 0) + socketErrors,
    ...(requests ? { requests: Number(requests[1]) } : {}),
  };
}

/** Runs wrk with one thread and `--latency`, pinned with taskset when `cpus` is set. */
export async function runWrk(
  group: ProcessGroup,
  run: WrkRun,
): Promise<WrkResult> {
  const wrkArgs = [
    "-t1",
    `-c${run.connections}`,
    `-d${run.durationSeconds}s`,
    "--latency",
    ...(run.headers ?? []).flatMap((header) => ["-H", header]),
    run.url,
  ];
  const { success, stdout, stderr } = await group.collect(
    "wrk",
    "wrk",
    wrkArgs,
    {
      cpus: run.cpus,
    },
  );
  if (!success) throw new Error(`wrk failed: ${stderr}\n${stdout}`);
  return parseWrkOutput(stdout);
}

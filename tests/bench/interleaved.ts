/**
 * Interleaved, paired load measurement. Every proxy runs at once, each on
 * the proxy core, idle while another is loaded; wrk loads them in turn for
 * short slices, cycle after cycle, the order rotating so that each takes
 * every position. A proxy's ratio to the floor is taken per cycle, from
 * slices seconds apart, so drifts of a shared machine (other work, thermal,
 * the kernel's caches) hit both sides of each pair alike; the median and the
 * range over the cycles are what the report prints.
 */
import type { BenchPlan } from "./flags.ts";
import { readCpuMs } from "./proc_status.ts";
import type { ProcessGroup } from "./processes.ts";
import type { ProxyKind } from "./proxies.ts";
import { median } from "./stream_lag.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** What the requests of a run carry. */
export interface Scenario {
  name: string;
  label: string;
  /** Request headers besides Host, `name: value` each. */
  headers: readonly string[];
}

/**
 * A desktop Chrome navigation: with Host, 14 request headers. Without
 * `Accept-Encoding`: with it the gateway compresses the origin's text by
 * default while the floor and `proxy()` pass it as it is, and the scenario
 * measures header handling, like against like.
 */
const BROWSER_HEADERS = [
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "Accept-Language: en-GB,en;q=0.9,de;q=0.8",
  "Priority: u=0, i",
  "Referer: https://www.example.com/products/list?page=2",
  "Cookie: session=8f2c1a9e4b7d6f3a; theme=dark; _ga=GA1.2.1234567890.1700000000",
  'Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"',
  "Sec-Ch-Ua-Mobile: ?0",
  'Sec-Ch-Ua-Platform: "Linux"',
  "Sec-Fetch-Dest: document",
  "Sec-Fetch-Mode: navigate",
  "Sec-Fetch-Site: same-origin",
  "Upgrade-Insecure-Requests: 1",
];

/** wrk's own request (Host only), then a browser's. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "wrk", label: "1 request header (wrk's Host)", headers: [] },
  {
    name: "browser",
    label: "14 browser-like request headers",
    headers: BROWSER_HEADERS,
  },
];

/** A listening proxy process to load. */
export interface ProxyInstance {
  url: string;
  /** Its process, whose CPU time is read around each slice. */
  pid: number;
}

/**
 * One proxy, started as several processes: how fast a process runs depends
 * a few per cent on luck (where its code and heap landed), and that luck
 * lasts as long as the process. Taking the instances in turn, cycle by
 * cycle, spreads it over every proxy alike.
 */
export interface LoadTarget {
  kind: ProxyKind;
  instances: readonly ProxyInstance[];
}

/** One scenario's slices: per proxy, one wrk result per cycle (cycle order). */
export interface ScenarioRun {
  scenario: Scenario;
  slices: Partial<Record<ProxyKind, WrkResult[]>>;
  /** Proxies whose slice failed, with the first failure (no later slices run). */
  failed: Partial<Record<ProxyKind, string>>;
}

/** Median and range of a set of per-cycle values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, minimum and maximum; `undefined` for no values. */
export function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/**
 * `pick(a) / pick(b)` per cycle where both were measured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedRatios } from "./interleaved.ts";
 * const r = (rps: number) => ({ requestsPerSecond: rps, p50Ms: 1, p99Ms: 2, errors: 0 });
 * const ratios = pairedRatios([r(50), r(60)], [r(100), r(100)], (w) => w.requestsPerSecond);
 * assert.deepEqual(ratios, [0.5, 0.6]);
 * ```
 */
export function pairedRatios(
  a: WrkResult[] | undefined,
  b: WrkResult[] | undefined,
  pick: (result: WrkResult) => number,
): number[] {
  if (!a || !b) return [];
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === undefined || b[i] === undefined) continue;
    const denominator = pick(b[i]);
    const ratio = pick(a[i]) / denominator;
    // Unknown values (NaN) and empty slices make no pair.
    if (denominator > 0 && Number.isFinite(ratio)) ratios.push(ratio);
  }
  return ratios;
}

/** `items` rotated left by `by`. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Warms every instance up (the JIT needs seconds: the first ones run ~25 %
 * slow), then runs `plan.cycles` cycles per scenario, one wrk slice per
 * target per cycle, each after `plan.rewarmSeconds` of unmeasured load;
 * cycle `c` loads instance `c % instances` of each target, so the slices of
 * one pair come from instances started alike.
 */
export async function measureInterleaved(
  group: ProcessGroup,
  targets: readonly LoadTarget[],
  plan: BenchPlan,
  clientCpus: string | null,
  log: (line: string) => void,
): Promise<ScenarioRun[]> {
  const wrk = (target: ProxyInstance, seconds: number, scenario: Scenario) =>
    runWrk(group, {
      url: `${target.url}/`,
      connections: plan.connections,
      durationSeconds: seconds,
      cpus: clientCpus,
      headers: scenario.headers,
    });
  log(`  warm-up: ${plan.warmupSeconds} s per proxy process`);
  for (const instance of targets.flatMap((target) => target.instances)) {
    for (const scenario of SCENARIOS) {
      await wrk(
        instance,
        Math.ceil(plan.warmupSeconds / SCENARIOS.length),
        scenario,
      ).catch(() => {}); // a failing proxy shows in its slices
    }
  }
  const runs: ScenarioRun[] = [];
  for (const scenario of SCENARIOS) {
    log(
      `  ${scenario.label}: ${plan.cycles} cycles of ${plan.sliceSeconds} s per proxy`,
    );
    const slices: ScenarioRun["slices"] = {};
    const failed: ScenarioRun["failed"] = {};
    for (let cycle = 0; cycle < plan.cycles; cycle++) {
      for (const target of rotated(targets, cycle)) {
        if (failed[target.kind] !== undefined) continue;
        const instance = target.instances[cycle % target.instances.length];
        try {
          // A process idle for a minute runs its first second at half speed
          // (V8 lets code and heap go cold): it is loaded again, unmeasured,
          // before the slice that counts.
          if (plan.rewarmSeconds > 0) {
            await wrk(instance, plan.rewarmSeconds, scenario);
          }
          const cpuBefore = await readCpuMs(instance.pid);
          const result = await wrk(instance, plan.sliceSeconds, scenario);
          const cpuAfter = await readCpuMs(instance.pid);
          if (cpuBefore !== null && cpuAfter !== null && result.requests) {
            result.cpuUsPerRequest = (cpuAfter - cpuBefore) * 1000 /
              result.requests;
          }
          (slices[target.kind] ??= [])[cycle] = result;
        } catch (error) {
          failed[target.kind] = error instanceof Error
            ? error.message
            : String(error);
          log(`  ${target.kind} failed: ${failed[target.kind]}`);
        }
      }
    }
    runs.push({ scenario, slices, failed });
  }
  return runs;
}

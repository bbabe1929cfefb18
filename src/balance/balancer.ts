/**
 * Which upstream of a route the next attempt goes to: a pure state machine
 * (time from the injected clock, randomness from the injected source, no
 * I/O) over per-upstream typed arrays, so a pick allocates nothing.
 *
 * - `"p2c"`: power of two random choices (Mitzenmacher) by peak-EWMA cost,
 *   as tower's `PeakEwma` (and Linkerd, after Finagle's `PeakEwma`) does:
 *   cost = RTT estimate × (in-flight + 1), divided by the weight. The
 *   estimate jumps to a slower RTT at once and decays towards faster ones
 *   (and towards 0 while idle) with time constant `decayMs` (tower's and
 *   Linkerd's default: 10 s). An upstream never observed costs the mean
 *   estimate of the others: new upstreams start neutral, neither flooded
 *   (as at 0) nor starved.
 * - `"round_robin"`: nginx's smooth weighted round robin
 *   (`ngx_http_upstream_get_peer`): each pick adds every candidate's weight
 *   to its current weight, takes the highest, and subtracts the total from it.
 * - `"failover"`: the first candidate in list order.
 *
 * Candidates are the upstreams not out (breaker open, health check failing);
 * backups are candidates only while every primary is out (nginx's `backup`).
 * `exclude` (the upstream whose attempt just failed) is skipped when any
 * other candidate is left, like nginx's `tried` bitmap for
 * `proxy_next_upstream`.
 */

import type { BalancePolicy } from "../config/types.ts";
import type { Clock } from "../resilience/clock.ts";

export interface BalancerOptions {
  policy: BalancePolicy;
  /** Per upstream, in config order. */
  weights: readonly number[];
  backups: readonly boolean[];
  clock: Clock;
  random: () => number;
  /** Peak-EWMA decay time constant (default 10000, as tower and Linkerd). */
  decayMs?: number;
}

/** Tells whether upstream `index` is out (breaker open, unhealthy). */
export type IsOut = (index: number) => boolean;

/** No upstream can take the attempt. */
export const NONE = -1;

/** What a failed attempt counts as in the peak-EWMA estimate, at least. */
export const FAILURE_PENALTY_MS = 1_000;

/**
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Balancer } from "./balancer.ts";
 *
 * const balancer = new Balancer({
 *   policy: "round_robin", weights: [2, 1], backups: [false, false],
 *   clock: { now: () => 0, setTimeout: () => () => {} }, random: Math.random,
 * });
 * const up = () => false;
 * const picks = [0, 1, 2].map(() => balancer.pick(up, -1));
 * assert.deepEqual(picks, [0, 1, 0]);
 * ```
 */
export class Balancer {
  readonly size: number;
  readonly #policy: BalancePolicy;
  readonly #weights: Float64Array;
  readonly #backups: Uint8Array;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #decayMs: number;
  readonly #inflight: Int32Array;
  /** Peak-EWMA RTT estimate (ms) as of `#rttAt`; NaN until observed. */
  readonly #rtt: Float64Array;
  readonly #rttAt: Float64Array;
  /** Smooth weighted round robin's current weights. */
  readonly #current: Float64Array;

  constructor(options: BalancerOptions) {
    const n = options.weights.length;
    this.size = n;
    this.#policy = options.policy;
    this.#weights = Float64Array.from(options.weights);
    this.#backups = Uint8Array.from(options.backups, (b) => b ? 1 : 0);
    this.#clock = options.clock;
    this.#random = options.random;
    this.#decayMs = options.decayMs ?? 10_000;
    this.#inflight = new Int32Array(n);
    this.#rtt = new Float64Array(n).fill(NaN);
    this.#rttAt = new Float64Array(n);
    this.#current = new Float64Array(n);
  }

  /** The upstream for the next attempt, or {@linkcode NONE} when every one is out. */
  pick(isOut: IsOut, exclude: number): number {
    if (this.size === 1) return isOut(0) ? NONE : 0;
    let index = this.#pickAmong(0, isOut, exclude);
    if (index === NONE) index = this.#pickAmong(1, isOut, exclude);
    if (index === NONE && exclude >= 0 && !isOut(exclude)) index = exclude;
    return index;
  }

  /** An attempt went out to `index`. */
  started(index: number): void {
    this.#inflight[index]++;
  }

  /**
   * The attempt to `index` got its headers (or failed) after `rttMs`. A
   * failure (5xx, network error, timeout) is observed as at least
   * `FAILURE_PENALTY_MS`: a fast-failing upstream must not look fast. (tower
   * and Finagle leave failures to ejection; between ejections this keeps
   * p2c off an instance that fails part of its calls.)
   */
  finished(index: number, rttMs: number, failed: boolean): void {
    this.#inflight[index]--;
    if (this.#policy !== "p2c") return;
    const now = this.#clock.now();
    const observed = failed ? Math.max(rttMs, FAILURE_PENALTY_MS) : rttMs;
    const estimate = this.#rtt[index];
    if (Number.isNaN(estimate) || observed > estimate) {
      this.#rtt[index] = observed; // the peak: slower is believed at once
    } else {
      const decay = Math.exp(-(now - this.#rttAt[index]) / this.#decayMs);
      this.#rtt[index] = estimate * decay + observed * (1 - decay);
    }
    this.#rttAt[index] = now;
  }

  /**
   * Takes `from`'s latency estimate of its upstream `fromIndex` as this
   * balancer's for `toIndex` (a config reload: the new pool starts with
   * what the old one learned). In-flight counts are not taken: the attempts
   * behind them report to the balancer that started them.
   */
  carryLatency(from: Balancer, fromIndex: number, toIndex: number): void {
    this.#rtt[toIndex] = from.#rtt[fromIndex];
    this.#rttAt[toIndex] = from.#rttAt[fromIndex];
  }

  /** Attempts to `index` awaiting headers. */
  inflight(index: number): number {
    return this.#inflight[index];
  }

  /** The p2c cost of `index` now (for views and tests). */
  cost(index: number): number {
    const estimate = Number.isNaN(this.#rtt[index])
      ? this.#neutralEstimate()
      : this.#decayed(index);
    // At least 1 ms: loopback answers in "0 ms" would make load invisible.
    return Math.max(1, estimate) * (this.#inflight[index] + 1) /
      this.#weights[index];
  }

  /** Picks among the candidates of one tier (0 primaries, 1 backups). */
  #pickAmong(tier: number, isOut: IsOut, exclude: number): number {
    let count = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.#isCandidate(i, tier, isOut, exclude)) count++;
    }
    if (count === 0) return NONE;
    if (this.#policy === "failover" || count === 1) {
      return this.#nth(0, tier, isOut, exclude);
    }
    if (this.#policy === "round_robin") {
      return this.#smoothWeighted(tier, isOut, exclude);
    }
    const first = Math.floor(this.#random() * count);
    let second = Math.floor(this.#random() * (count - 1));
    if (second >= first) second++;
    const a = this.#nth(first, tier, isOut, exclude);
    const b = this.#nth(second, tier, isOut, exclude);
    return this.cost(b) < this.cost(a) ? b : a;
  }

  #smoothWeighted(tier: number, isOut: IsOut, exclude: number): number {
    let total = 0;
    let best = NONE;
    for (let i = 0; i < this.size; i++) {
      if (!this.#isCandidate(i, tier, isOut, exclude)) continue;
      this.#current[i] += this.#weights[i];
      total += this.#weights[i];
      if (best === NONE || this.#current[i] > this.#current[best]) best = i;
    }
    this.#current[best] -= total;
    return best;
  }

  /** The `n`-th candidate (0-based) in list order. */
  #nth(n: number, tier: number, isOut: IsOut, exclude: number): number {
    for (let i = 0; i < this.size; i++) {
      if (this.#isCandidate(i, tier, isOut, exclude) && n-- === 0) return i;
    }
    return NONE;
  }

  #isCandidate(i: number, tier: number, isOut: IsOut, exclude: number) {
    return this.#backups[i] === tier && i !== exclude && !isOut(i);
  }

  /** The estimate decayed towards 0 for the time since it was updated (tower's `decay`). */
  #decayed(index: number): number {
    const elapsed = this.#clock.now() - this.#rttAt[index];
    return this.#rtt[index] * Math.exp(-elapsed / this.#decayMs);
  }

  #neutralEstimate(): number {
    let sum = 0;
    let observed = 0;
    for (let i = 0; i < this.size; i++) {
      if (Number.isNaN(this.#rtt[i])) continue;
      sum += this.#decayed(i);
      observed++;
    }
    return observed === 0 ? 0 : sum / observed;
  }
}

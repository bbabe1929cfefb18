/**
 * The sliding windows a circuit breaker judges an upstream by: the last
 * `size` calls, or the calls of the last `size` seconds in 1 s buckets.
 * Pure: the caller passes the time.
 */

import type { BreakerPolicy } from "./circuit_breaker.ts";

/** What a window has seen. */
export interface WindowStats {
  calls: number;
  failures: number;
  slowCalls: number;
}

/** One call: bit 1 failed, bit 2 slow. */
type OutcomeCode = number;

/** The calls that ended within one second (`second` = epoch ms / 1000, floored). */
interface TimeBucket {
  second: number;
  calls: number;
  failures: number;
  slowCalls: number;
}

/** A sliding window of call outcomes. */
export interface OutcomeWindow {
  record(failure: boolean, slow: boolean, nowMs: number): void;
  stats(nowMs: number): WindowStats;
  reset(): void;
}

const FAILURE = 1;
const SLOW = 2;

/** The last `size` calls, in a ring with running totals (O(1) per call). */
export class CountWindow implements OutcomeWindow {
  readonly #size: number;
  #ring: OutcomeCode[] = [];
  #next = 0;
  #failures = 0;
  #slowCalls = 0;

  constructor(size: number) {
    this.#size = Math.max(1, Math.floor(size));
  }

  record(failure: boolean, slow: boolean): void {
    this.#push((failure ? FAILURE : 0) | (slow ? SLOW : 0));
  }

  stats(): WindowStats {
    return {
      calls: this.#ring.length,
      failures: this.#failures,
      slowCalls: this.#slowCalls,
    };
  }

  reset(): void {
    this.#ring = [];
    this.#next = 0;
    this.#failures = 0;
    this.#slowCalls = 0;
  }

  #push(code: OutcomeCode): void {
    if (this.#ring.length < this.#size) {
      this.#ring.push(code);
    } else {
      this.#count(this.#ring[this.#next], -1);
      this.#ring[this.#next] = code;
      this.#next = (this.#next + 1) % this.#size;
    }
    this.#count(code, 1);
  }

  #count(code: OutcomeCode, delta: number): void {
    if (code & FAILURE) this.#failures += delta;
    if (code & SLOW) this.#slowCalls += delta;
  }
}

/** The calls of the last `size` seconds, one bucket per second. */
export class TimeWindow implements OutcomeWindow {
  readonly #seconds: number;
  #buckets: TimeBucket[] = [];

  constructor(seconds: number) {
    this.#seconds = Math.max(1, Math.floor(seconds));
  }

  record(failure: boolean, slow: boolean, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    this.#prune(second);
    let bucket = this.#buckets.at(-1);
    if (bucket?.second !== second) {
      bucket = { second, calls: 0, failures: 0, slowCalls: 0 };
      this.#buckets.push(bucket);
    }
    bucket.calls++;
    if (failure) bucket.failures++;
    if (slow) bucket.slowCalls++;
  }

  stats(nowMs: number): WindowStats {
    this.#prune(Math.floor(nowMs / 1000));
    const stats = { calls: 0, failures: 0, slowCalls: 0 };
    for (const bucket of this.#buckets) {
      stats.calls += bucket.calls;
      stats.failures += bucket.failures;
      stats.slowCalls += bucket.slowCalls;
    }
    return stats;
  }

  reset(): void {
    this.#buckets = [];
  }

  /** Drops buckets that slid out; at most `seconds` remain, so this is bounded. */
  #prune(second: number): void {
    const oldest = second - this.#seconds + 1;
    this.#buckets = this.#buckets.filter((bucket) =>
      bucket.second >= oldest && bucket.second <= second
    );
  }
}

/**
 * The empty window a policy asks for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createWindow } from "./breaker_window.ts";
 * const window = createWindow({ window: "count", size: 2 });
 * window.record(true, false, 0);
 * window.record(false, false, 0);
 * window.record(false, true, 0); // the first call falls out of the window
 * assert.deepEqual(window.stats(0), { calls: 2, failures: 0, slowCalls: 1 });
 * ```
 */
export function createWindow(
  policy: Pick<BreakerPolicy, "window" | "size">,
): OutcomeWindow {
  return policy.window === "time"
    ? new TimeWindow(policy.size)
    : new CountWindow(policy.size);
}

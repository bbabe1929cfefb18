/**
 * A retry budget: retries may only be a bounded share of the traffic, so a
 * struggling upstream sees at most `1 + ratio` times its normal load instead
 * of `1 + retries` times (a retry storm).
 */

import type { Clock } from "./clock.ts";

/** Options of {@linkcode RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per request offered, over the window. */
  ratio: number;
  /** Retries always allowed per second of window, whatever the load. */
  minPerSecond: number;
  /** Length of the sliding window; a whole number of seconds. Default 10 000. */
  windowMs?: number;
}

const BUCKET_MS = 1000;

/**
 * Counts requests and retries in a sliding window of 1-second buckets (a
 * fixed ring: constant memory and time per call, whatever the load).
 *
 * Guarantee: in every window of `windowMs` aligned to whole seconds of the
 * clock, retries ≤ `ratio × requests + minPerSecond × windowSeconds`.
 * Checking only the current window is not enough for that: requests from
 * 9 s ago would pay for retries now, and the next window, which has lost
 * those requests but keeps the retries, would be over budget. So a retry is
 * granted only if every window that will still contain it (every suffix of
 * the ring, which future requests can only help) stays within budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RetryBudget } from "./retry_budget.ts";
 * import { systemClock } from "./clock.ts";
 *
 * const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0 }, systemClock);
 * budget.recordRequest();
 * budget.recordRequest();
 * assert.equal(budget.tryAcquireRetry(), true); // 1 <= 0.5 * 2
 * assert.equal(budget.tryAcquireRetry(), false); // 2 > 0.5 * 2
 * ```
 */
export class RetryBudget {
  readonly #ratio: number;
  /** Retries allowed in any window on top of the ratio. */
  readonly #reserve: number;
  readonly #clock: Clock;
  readonly #requests: Uint32Array;
  readonly #retries: Uint32Array;
  /** The second (since the epoch) the newest bucket belongs to. */
  #newestSecond: number;

  constructor(options: RetryBudgetOptions, clock: Clock) {
    const { ratio, minPerSecond, windowMs = 10_000 } = options;
    if (!(ratio >= 0) || ratio === Infinity) {
      throw new RangeError(
        `Cannot create a retry budget as 'ratio' is not a non-negative number: current value is ${ratio}`,
      );
    }
    if (!(minPerSecond >= 0) || minPerSecond === Infinity) {
      throw new RangeError(
        `Cannot create a retry budget as 'minPerSecond' is not a non-negative number: current value is ${minPerSecond}`,
      );
    }
    if (!Number.isInteger(windowMs / BUCKET_MS) || windowMs < BUCKET_MS) {
      throw new RangeError(
        `Cannot create a retry budget as 'windowMs' is not a positive whole number of seconds: current value is ${windowMs}`,
      );
    }
    const windowSeconds = windowMs / BUCKET_MS;
    this.#ratio = ratio;
    this.#reserve = minPerSecond * windowSeconds;
    this.#clock = clock;
    this.#requests = new Uint32Array(windowSeconds);
    this.#retries = new Uint32Array(windowSeconds);
    this.#newestSecond = this.#currentSecond();
  }

  /** Counts one client request (call once per request, not per attempt). */
  recordRequest(): void {
    this.#requests[this.#rotate()]++;
  }

  /** Counts a retry and returns true if the budget allows it; otherwise returns false and counts nothing. */
  tryAcquireRetry(): boolean {
    const newest = this.#rotate();
    const size = this.#retries.length;
    let retries = 1; // the one being asked for
    let requests = 0;
    for (let age = 0; age < size; age++) {
      const index = (newest - age + size) % size;
      retries += this.#retries[index];
      requests += this.#requests[index];
      if (retries > this.#ratio * requests + this.#reserve) return false;
    }
    this.#retries[newest]++;
    return true;
  }

  /** Requests counted in the current window. */
  get requests(): number {
    this.#rotate();
    return sum(this.#requests);
  }

  /** Retries granted in the current window. */
  get retries(): number {
    this.#rotate();
    return sum(this.#retries);
  }

  /** Clears the buckets of seconds that have passed since the last call; returns the newest bucket's index. */
  #rotate(): number {
    const size = this.#requests.length;
    const second = this.#currentSecond();
    // A clock that steps back keeps counting into the newest bucket.
    const elapsed = Math.min(second - this.#newestSecond, size);
    for (let step = 1; step <= elapsed; step++) {
      const index = slotOf(this.#newestSecond + step, size);
      this.#requests[index] = 0;
      this.#retries[index] = 0;
    }
    if (elapsed > 0) this.#newestSecond = second;
    return slotOf(this.#newestSecond, size);
  }

  #currentSecond(): number {
    return Math.floor(this.#clock.now() / BUCKET_MS);
  }
}

/** The ring slot of a second; also right for seconds before the epoch. */
function slotOf(second: number, size: number): number {
  return ((second % size) + size) % size;
}

function sum(counts: Uint32Array): number {
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

/** Seconds the status page's rates look back over. */
export const RATE_WINDOW_SECONDS = 10;

/** A rate over the recent window. */
export interface WindowRate {
  /** Requests per second over the window. */
  requestsPerSecond: number;
  /** Share of requests that failed, 0..1 (0 when there were none). */
  errorRate: number;
}

/**
 * Requests and errors over the last {@linkcode RATE_WINDOW_SECONDS}, in
 * one-second slots reused in a ring: recording is an index and two
 * increments, and old seconds drop out without any timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateWindow } from "./rate_window.ts";
 * const window = new RateWindow(0);
 * window.record(500, false);
 * window.record(900, true);
 * assert.deepEqual(window.rate(2_000), { requestsPerSecond: 1, errorRate: 0.5 });
 * ```
 */
export class RateWindow {
  /** Which epoch second each slot currently holds. */
  readonly #slotSecond = new Float64Array(RATE_WINDOW_SECONDS).fill(-1);
  readonly #requests = new Float64Array(RATE_WINDOW_SECONDS);
  readonly #errors = new Float64Array(RATE_WINDOW_SECONDS);
  /** When counting began, so a young window is not diluted by empty time. */
  readonly #startedAt: number;

  constructor(startedAtMs: number) {
    this.#startedAt = startedAtMs;
  }

  record(nowMs: number, failed: boolean): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % RATE_WINDOW_SECONDS;
    if (this.#slotSecond[slot] !== second) {
      this.#slotSecond[slot] = second;
      this.#requests[slot] = 0;
      this.#errors[slot] = 0;
    }
    this.#requests[slot]++;
    if (failed) this.#errors[slot]++;
  }

  /** Requests per second and error share over the window ending at `nowMs`. */
  rate(nowMs: number): WindowRate {
    const second = Math.floor(nowMs / 1000);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; slot < RATE_WINDOW_SECONDS; slot++) {
      const age = second - this.#slotSecond[slot];
      if (age >= 0 && age < RATE_WINDOW_SECONDS) {
        requests += this.#requests[slot];
        errors += this.#errors[slot];
      }
    }
    const windowStart = (second - RATE_WINDOW_SECONDS + 1) * 1000;
    const spanMs = nowMs - Math.max(windowStart, this.#startedAt);
    // At least one second, so a burst in the first milliseconds is not a huge rate.
    const spanSeconds = Math.max(spanMs / 1000, 1);
    return {
      requestsPerSecond: requests / spanSeconds,
      errorRate: requests === 0 ? 0 : errors / requests,
    };
  }
}

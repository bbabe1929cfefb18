/**
 * Per-key request rate limiting with a sliding-window counter.
 *
 * Each key keeps two counts: the current clock-aligned window and the one
 * before. A request is allowed when `previous × (share of the sliding window
 * still overlapping the previous window) + current + 1 ≤ requests`. This
 * smooths the burst a plain fixed window allows at its boundary, in constant
 * memory per key. Guarantee: every clock-aligned window admits at most
 * `requests`; steady traffic is held to about `requests` per any window.
 * Refused requests are not counted, so `retryAfterMs` is exact: a client
 * that waits that long is let through.
 */
import type { Clock } from "./clock.ts";

/** A rate limit (the `rateLimit` policy of a route; the config reuses this type). */
export interface RateLimitPolicy {
  /** Requests allowed per client address per window. */
  requests: number;
  /** The window's length. */
  windowSeconds: number;
  /**
   * `instance` (default): each process/isolate counts on its own. `fleet`:
   * one count across every instance through the shared store (see
   * docs/shared-state.md); per instance again while the store fails.
   */
  scope: "instance" | "fleet";
}

/** The answer for one request. */
export type RateLimitDecision =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number };

/** What a route's rate limit is asked per request (a fleet limit answers after a store call). */
export interface RateLimit {
  /** Counts one request of client `key` and says whether it may go on. */
  take(key: string): RateLimitDecision | Promise<RateLimitDecision>;
}

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Keys tracked at most; beyond it the least recently seen key is
   * forgotten (and starts afresh if it returns). Default 10 000.
   */
  maxKeys?: number;
}

interface KeyWindows {
  /** Index of the current window: `floor(now / windowMs)`. */
  window: number;
  current: number;
  previous: number;
}

/**
 * Counts requests per key (the client address) against a
 * {@linkcode RateLimitPolicy}, with memory bounded by `maxKeys`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 * import { systemClock } from "./clock.ts";
 *
 * const limiter = new RateLimiter({ requests: 2, windowSeconds: 60 }, systemClock);
 * assert.equal(limiter.take("192.0.2.1").allowed, true);
 * assert.equal(limiter.take("192.0.2.1").allowed, true);
 * assert.equal(limiter.take("192.0.2.1").allowed, false);
 * assert.equal(limiter.take("192.0.2.2").allowed, true);
 * ```
 */
export class RateLimiter implements RateLimit {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;
  /** In least-recently-used order: a key is re-inserted on every use. */
  readonly #keys = new Map<string, KeyWindows>();

  constructor(
    policy: Pick<RateLimitPolicy, "requests" | "windowSeconds">,
    clock: Clock,
    options: RateLimiterOptions = {},
  ) {
    const { requests, windowSeconds } = policy;
    const { maxKeys = 10_000 } = options;
    if (!Number.isInteger(requests) || requests < 1) {
      throw new RangeError(
        `Cannot create a rate limiter as 'requests' is not a positive integer: current value is ${requests}`,
      );
    }
    if (!(windowSeconds > 0) || windowSeconds === Infinity) {
      throw new RangeError(
        `Cannot create a rate limiter as 'windowSeconds' is not a positive number: current value is ${windowSeconds}`,
      );
    }
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(
        `Cannot create a rate limiter as 'maxKeys' is not a positive integer: current value is ${maxKeys}`,
      );
    }
    this.#limit = requests;
    this.#windowMs = windowSeconds * 1000;
    this.#maxKeys = maxKeys;
    this.#clock = clock;
  }

  /** Keys currently tracked (at most `maxKeys`). */
  get size(): number {
    return this.#keys.size;
  }

  /** Counts one request for `key` if the limit allows it. */
  take(key: string): RateLimitDecision {
    const now = this.#clock.now();
    const windowMs = this.#windowMs;
    const window = Math.floor(now / windowMs);
    const state = this.#touch(key, window);
    const elapsed = now - window * windowMs;
    // Scaled by windowMs so the comparison stays in whole numbers.
    const weighted = state.previous * (windowMs - elapsed) +
      (state.current + 1) * windowMs;
    if (weighted <= this.#limit * windowMs) {
      state.current++;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: this.#waitMs(state, elapsed) };
  }

  /** Moves `key` to most recently used, rolling its windows forward. */
  #touch(key: string, window: number): KeyWindows {
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { window, current: 0, previous: 0 };
    } else {
      this.#keys.delete(key);
      if (window !== state.window) {
        state.previous = window === state.window + 1 ? state.current : 0;
        state.current = 0;
        state.window = window;
      }
    }
    this.#keys.set(key, state);
    if (this.#keys.size > this.#maxKeys) {
      this.#keys.delete(this.#keys.keys().next().value!);
    }
    return state;
  }

  /** Shortest wait after which one more request is allowed. */
  #waitMs(state: KeyWindows, elapsed: number): number {
    const windowMs = this.#windowMs;
    const room = this.#limit - state.current - 1;
    if (room > 0 && state.previous > 0) {
      // Still this window, once enough of the previous one has slid out:
      // previous × (windowMs − e) ≤ room × windowMs, solved for e.
      const neededElapsed = Math.ceil(
        (state.previous - room) * windowMs / state.previous,
      );
      if (neededElapsed < windowMs) return neededElapsed - elapsed;
    }
    // Next window, where this window's count becomes the weighted previous.
    const intoNext = state.current === 0 ? 0 : Math.max(
      0,
      Math.ceil((state.current - this.#limit + 1) * windowMs / state.current),
    );
    return windowMs - elapsed + intoNext;
  }
}

/**
 * Fleet-wide rate limiting (`rateLimit.scope: "fleet"`): every instance
 * counts a client's requests in one shared counter per clock-aligned window
 * (`increment` on the shared store), so `requests` per window holds across
 * the whole fleet, exactly: the store hands out each count once, and the
 * requests that got counts 1…`requests` pass.
 *
 * Cost: one store round trip per request on the route (the only per-request
 * one the gateway makes; routes without a fleet limit make none). While the store fails, each instance falls back
 * to its own local limiter (`requests` per instance, as scope `instance`),
 * without waiting for the store: the board's background syncs notice when
 * it is back.
 */

import type { RateLimitPolicy } from "../config/types.ts";
import type { Clock } from "./clock.ts";
import type { RateLimit, RateLimitDecision } from "./rate_limiter.ts";
import type { StoreGuard } from "./breaker_store_guard.ts";

/** The part of the store port fleet limits use (see `AtomicBreakerStore.increment`). */
export interface FleetCounter {
  /** Adds one to `key`'s count (created at 1, expiring after `expireInMs`) and returns the new count. */
  increment(key: string, options: { expireInMs: number }): Promise<number>;
}

export interface FleetRateLimiterOptions {
  /** Names the counters (the route's name). */
  name: string;
  policy: RateLimitPolicy;
  clock: Clock;
  counter: FleetCounter;
  /** The shared store's guard: bounds each call, counts failures, knows health. */
  guard: StoreGuard;
  /** Answers while the store fails. */
  local: RateLimit;
}

/**
 * Instances' clocks differ a little: a window's counter outlives the window
 * by this much, so a late instance still counts into it, not a fresh one.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 5_000;

const ALLOWED: RateLimitDecision = { allowed: true };

/**
 * A fixed-window counter shared by the fleet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FleetRateLimiter } from "./fleet_rate_limiter.ts";
 * import { RateLimiter } from "./rate_limiter.ts";
 * import { StoreGuard } from "./breaker_store_guard.ts";
 * import { systemClock } from "./clock.ts";
 * import { MemoryBreakerStore } from "../runtime/memory/breaker_store.ts";
 *
 * const policy = { requests: 1, windowSeconds: 60, scope: "fleet" as const };
 * const store = new MemoryBreakerStore();
 * const instance = () =>
 *   new FleetRateLimiter({
 *     name: "users",
 *     policy,
 *     clock: systemClock,
 *     counter: store,
 *     guard: new StoreGuard(systemClock, 250),
 *     local: new RateLimiter(policy, systemClock),
 *   });
 * assert.equal((await instance().take("192.0.2.1")).allowed, true);
 * assert.equal((await instance().take("192.0.2.1")).allowed, false);
 * ```
 */
export class FleetRateLimiter implements RateLimit {
  readonly #options: FleetRateLimiterOptions;
  readonly #windowMs: number;

  constructor(options: FleetRateLimiterOptions) {
    this.#options = options;
    this.#windowMs = options.policy.windowSeconds * 1000;
  }

  take(key: string): RateLimitDecision | Promise<RateLimitDecision> {
    const { guard, local, clock, counter, name, policy } = this.#options;
    if (!guard.healthy) return local.take(key);
    const now = clock.now();
    const window = Math.floor(now / this.#windowMs);
    const windowEndsIn = (window + 1) * this.#windowMs - now;
    return guard.call(() =>
      counter.increment(`rate|${name}|${window}|${key}`, {
        expireInMs: windowEndsIn + CLOCK_SKEW_ALLOWANCE_MS,
      })
    ).then(
      (count): RateLimitDecision =>
        count <= policy.requests
          ? ALLOWED
          : { allowed: false, retryAfterMs: windowEndsIn },
      () => local.take(key),
    );
  }
}

/**
 * Fleet rate limits on Workers through the rate-limiting binding
 * (`[[ratelimits]]` in wrangler.toml, bound as `GATEWAY_RATE_LIMITER`):
 * counted by Cloudflare next to each isolate, so a limited request costs no
 * trip to the one Durable Object. The binding's own `simple.limit` and
 * `simple.period` (10 or 60 s) decide, for every fleet-scoped route (keyed
 * per route and client address): set them to the routes' `requests` and
 * `windowSeconds`. Cloudflare counts per location and eventually
 * consistently, so the limit is approximate; without the binding, fleet
 * limits count exactly in the Durable Object (`GATEWAY_BREAKERS`).
 *
 * @module
 */

import type { FleetRateLimitFactory } from "../../pipeline/route_runtime.ts";
import type {
  RateLimit,
  RateLimitDecision,
} from "../../resilience/rate_limiter.ts";

/** The part of a Workers rate-limiting binding the gateway uses. */
export interface RateLimitBinding {
  /** Counts one request under `key`; `success: false` when over the binding's limit. */
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

const ALLOWED: RateLimitDecision = { allowed: true };

/**
 * Fleet limits through `binding`; a failing binding falls back to the
 * route's per-isolate limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindingRateLimits } from "./rate_limit_binding.ts";
 *
 * let calls = 0;
 * const binding = { limit: () => Promise.resolve({ success: ++calls <= 1 }) };
 * const local = { take: () => ({ allowed: true as const }) };
 * const policy = { requests: 1, windowSeconds: 60, scope: "fleet" as const };
 * const limit = bindingRateLimits(binding)("users", policy, local);
 * assert.deepEqual(await limit.take("192.0.2.1"), { allowed: true });
 * assert.deepEqual(await limit.take("192.0.2.1"), { allowed: false, retryAfterMs: 60_000 });
 * ```
 */
export function bindingRateLimits(
  binding: RateLimitBinding,
): FleetRateLimitFactory {
  return (route, policy, local): RateLimit => {
    // The binding does not say when its window ends: at most one period.
    const refused: RateLimitDecision = {
      allowed: false,
      retryAfterMs: policy.windowSeconds * 1000,
    };
    return {
      take: (key) =>
        binding.limit({ key: `${route}|${key}` }).then(
          (outcome) => outcome.success ? ALLOWED : refused,
          () => local.take(key),
        ),
    };
  };
}

import type { BreakerPolicy } from "../../src/config/types.ts";

/**
 * The breaker policy the breaker tests share: a count window of 10 that may
 * open after 4 calls at 50 % failures, 5 s open, 2 half-open probes.
 */
export function breakerPolicy(
  overrides: Partial<BreakerPolicy> = {},
): BreakerPolicy {
  return {
    window: "count",
    size: 10,
    minCalls: 4,
    failureRate: 0.5,
    slowCallMs: null,
    slowCallRate: 1,
    openMs: 5000,
    halfOpenProbes: 2,
    // Off unless a test is about them: the window alone decides.
    consecutiveFailures: 10_000,
    maxOpenMs: 5000,
    ...overrides,
  };
}

import { GatewayError } from "../errors.ts";
import { retryAfterSeconds } from "../http/problem.ts";
import type { RateLimitDecision } from "../resilience/rate_limiter.ts";
import type { Exchange } from "./exchange.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * Per-client rate limit of the route: 429 `rate_limited` with
 * `Retry-After`. A promise only for a fleet limit (a store call); an
 * instance limit decides at once, so nothing is awaited for it.
 */
export function limitRate(
  rt: RouteRuntime,
  exchange: Exchange,
): void | Promise<void> {
  if (rt.rateLimiter === null) return;
  const verdict = rt.rateLimiter.take(exchange.clientAddress ?? "unknown");
  if ("then" in verdict) {
    return verdict.then((decided) => enforce(rt, exchange, decided));
  }
  enforce(rt, exchange, verdict);
}

function enforce(
  rt: RouteRuntime,
  exchange: Exchange,
  verdict: RateLimitDecision,
): void {
  if (verdict.allowed) return;
  exchange.flag("RL");
  throw new GatewayError(
    429,
    "rate_limited",
    `Too many requests to route "${rt.route.name}"; slow down.`,
    {
      "retry-after": retryAfterSeconds(verdict.retryAfterMs),
    },
  );
}

import { GatewayError } from "../errors.ts";
import { retryAfterSeconds } from "../http/problem.ts";
import type { Exchange } from "./exchange.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/** Per-client rate limit of the route: 429 `rate_limited` with `Retry-After`. */
export function limitRate(rt: RouteRuntime, exchange: Exchange): void {
  if (rt.rateLimiter === null) return;
  const verdict = rt.rateLimiter.take(exchange.clientAddress ?? "unknown");
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

import { GatewayError } from "../errors.ts";
import type { GatewayMetrics } from "../observe/metrics.ts";
import type { Exchange } from "./exchange.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * The route's bulkhead: takes a permit or answers 503 `overloaded` at once
 * (never queues). Returns the release function, which runs once whatever the
 * exit path (body end, failure, client cancel).
 */
export function limitConcurrency(
  rt: RouteRuntime,
  exchange: Exchange,
  metrics: GatewayMetrics,
): () => void {
  const permit = rt.bulkhead.tryAcquire();
  const route = rt.route.name;
  if (permit === undefined) {
    exchange.flag("BH");
    metrics.bulkheadRejected(route);
    throw new GatewayError(
      503,
      "overloaded",
      `Route "${route}" has too many requests in flight; try again shortly.`,
      { "retry-after": "1" },
    );
  }
  metrics.inflight(route, 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    permit.release();
    metrics.inflight(route, -1);
  };
}

import { Hono } from "hono";
import { gatewayJson } from "../http/problem.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";

/**
 * `live`: the process runs. `ready`: config loaded (it is, or the gateway
 * would not exist) and not draining — what a load balancer or Kubernetes
 * should route by. A failing shared store leaves it ready, saying
 * `degraded`: the gateway serves on local state, and a store outage must
 * not take every instance out of its load balancer at once.
 */
export function healthEndpoints(
  board: BreakerBoard,
  isDraining: () => boolean,
): Hono {
  const app = new Hono();
  app.get("/live", () => gatewayJson({ status: "live" }));
  app.get("/ready", () => {
    if (isDraining()) return gatewayJson({ status: "draining" }, 503);
    if (!board.storeHealth().healthy) {
      // The error itself is for admins (/_gateway/breakers), not the public.
      return gatewayJson({
        status: "degraded",
        store: "unavailable: serving on local state, not shared",
      });
    }
    return gatewayJson({ status: "ready" });
  });
  return app;
}

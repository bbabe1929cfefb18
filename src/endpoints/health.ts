import { Hono } from "hono";
import { gatewayJson } from "../http/problem.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";

/**
 * `live`: the process runs. `ready`: config loaded (it is, or the gateway
 * would not exist), the breaker store answers, and not draining — what a
 * load balancer or Kubernetes should route by.
 */
export function healthEndpoints(
  board: BreakerBoard,
  isDraining: () => boolean,
): Hono {
  const app = new Hono();
  app.get("/live", () => gatewayJson({ status: "live" }));
  app.get("/ready", () => {
    if (isDraining()) return gatewayJson({ status: "draining" }, 503);
    const store = board.storeHealth();
    if (!store.healthy) {
      // The error itself is for admins (/_gateway/breakers), not the public.
      return gatewayJson({ status: "store_unavailable" }, 503);
    }
    return gatewayJson({ status: "ready" });
  });
  return app;
}

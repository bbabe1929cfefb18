import { Hono } from "hono";
import { GATEWAY_RESPONSE_HEADERS } from "../http/problem.ts";
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
  app.get("/live", () => json(200, { status: "live" }));
  app.get("/ready", () => {
    if (isDraining()) return json(503, { status: "draining" });
    const store = board.storeHealth();
    if (!store.healthy) {
      // The error itself is for admins (/_gateway/breakers), not the public.
      return json(503, { status: "store_unavailable" });
    }
    return json(200, { status: "ready" });
  });
  return app;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...GATEWAY_RESPONSE_HEADERS,
      "content-type": "application/json",
    },
  });
}

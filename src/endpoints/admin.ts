import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { Route } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";
import { GATEWAY_RESPONSE_HEADERS, gatewayJson } from "../http/problem.ts";
import type { GatewayMetrics } from "../observe/metrics.ts";
import { buildStatusSnapshot } from "../observe/status_snapshot.ts";
import {
  renderStatusPage,
  STATUS_PAGE_HEADERS,
} from "../observe/status_page.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";
import type { Clock } from "../resilience/clock.ts";
import type { UpstreamView } from "../balance/upstream_pool.ts";

export interface AdminDeps {
  token: string;
  routes: readonly Route[];
  board: BreakerBoard;
  metrics: GatewayMetrics;
  clock: Clock;
  /** Every route's upstream pool state. */
  upstreams(): UpstreamView[];
}

const ADMIN_COOKIE = "gateway_admin";
const FORCE_ACTIONS = new Set(["open", "close", "reset"]);

/**
 * Admin endpoints (mounted only when an admin token is configured):
 * `GET breakers`, `POST breakers/{open|close|reset}?route=&upstream=`,
 * `GET upstreams` (pools: health, traffic, p2c cost),
 * `GET status` (HTML), `GET status.json`, and `POST login` which sets the
 * admin cookie so a browser can open the status page.
 * Every one takes `Authorization: Bearer <token>` or the cookie.
 */
export function adminEndpoints(deps: AdminDeps): Hono {
  const app = new Hono();
  const { board } = deps;

  app.post("/login", async (c) => {
    const form: Record<string, unknown> = await c.req.parseBody().catch(
      () => ({}),
    );
    const token = typeof form.token === "string" ? form.token : "";
    if (!(await constantTimeEqual(token, deps.token))) throw unauthorized();
    const secure = c.req.url.startsWith("https:") ? "; Secure" : "";
    return new Response(null, {
      status: 303,
      headers: {
        ...GATEWAY_RESPONSE_HEADERS,
        location: "/_gateway/status",
        "set-cookie": `${ADMIN_COOKIE}=${
          encodeURIComponent(token)
        }; Path=/_gateway; HttpOnly; SameSite=Strict${secure}`,
      },
    });
  });

  app.use("*", async (c, next) => {
    const bearer = /^Bearer +(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const presented = bearer?.[1] ?? getCookie(c, ADMIN_COOKIE) ?? "";
    if (!(await constantTimeEqual(presented, deps.token))) {
      if ((c.req.header("accept") ?? "").includes("text/html")) {
        return new Response(LOGIN_PAGE, {
          status: 401,
          headers: {
            ...STATUS_PAGE_HEADERS,
            "www-authenticate": 'Bearer realm="gateway-admin"',
          },
        });
      }
      throw unauthorized();
    }
    await next();
  });

  app.get(
    "/breakers",
    () => gatewayJson({ breakers: board.views(), store: board.storeHealth() }),
  );

  app.get("/upstreams", () => gatewayJson({ upstreams: deps.upstreams() }));

  app.post("/breakers/:action", async (c) => {
    const action = c.req.param("action");
    const route = c.req.query("route") ?? "";
    const upstream = c.req.query("upstream") ?? "";
    if (!FORCE_ACTIONS.has(action)) {
      throw new GatewayError(404, "no_route", "Unknown breaker action.");
    }
    const view = await board.force(
      route,
      upstream,
      action as "open" | "close" | "reset",
    );
    if (view === undefined) {
      throw new GatewayError(
        404,
        "no_route",
        "No breaker for that route and upstream.",
      );
    }
    return gatewayJson({ breaker: view });
  });

  app.get(
    "/status",
    () => new Response(renderStatusPage(), { headers: STATUS_PAGE_HEADERS }),
  );

  app.get("/status.json", () =>
    gatewayJson(buildStatusSnapshot({
      routes: deps.routes,
      rates: deps.metrics.routeRates(),
      openWebSockets: (route) => deps.metrics.openWebSockets(route),
      breakers: board.views(),
      upstreams: deps.upstreams(),
      store: board.storeHealth(),
      now: deps.clock.now(),
    })));

  return app;
}

function unauthorized(): GatewayError {
  return new GatewayError(
    401,
    "unauthorized",
    "Admin endpoints need the admin bearer token.",
    { "www-authenticate": 'Bearer realm="gateway-admin"' },
  );
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gateway admin sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.4rem .6rem}label{display:block;margin:.5rem 0}</style></head>
<body><main><h1>Gateway admin</h1>
<form method="post" action="/_gateway/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>`;

import type { UpstreamView } from "./balance/upstream_pool.ts";
import { Hono } from "hono";
import type { GatewayConfig } from "./config/types.ts";
import { adminEndpoints } from "./endpoints/admin.ts";
import { healthEndpoints } from "./endpoints/health.ts";
import { metricsEndpoint } from "./endpoints/metrics.ts";
import { GatewayError, internalError, isGatewayError } from "./errors.ts";
import { applyCors, corsPreflight } from "./http/cors.ts";
import { GATEWAY_RESPONSE_HEADERS, problemResponse } from "./http/problem.ts";
import { isInternalPath } from "./endpoints/internal_path.ts";
import { splitTarget } from "./http/split_target.ts";
import type { Logger } from "./observe/logger.ts";
import { UNMATCHED_ROUTE } from "./observe/metrics.ts";
import { CLIENT_CLOSED_REQUEST, ClientGone } from "./pipeline/abort_reasons.ts";
import { authenticate } from "./pipeline/authenticate.ts";
import { checkMethod } from "./pipeline/check_method.ts";
import { answerMaxForwards, checkLoop } from "./pipeline/hop_limits.ts";
import type { Exchange } from "./pipeline/exchange.ts";
import { forward, type ForwardDeps } from "./pipeline/forward.ts";
import { limitConcurrency } from "./pipeline/limit_concurrency.ts";
import { limitRate } from "./pipeline/limit_rate.ts";
import type { RouteRuntime } from "./pipeline/route_runtime.ts";
import {
  checkClientHandshake,
  isWebSocketUpgrade,
  queryCredentialHeaders,
} from "./websocket/handshake.ts";
import type { OpenSockets } from "./websocket/open_sockets.ts";
import {
  proxyWebSocket,
  type WebSocketDeps,
} from "./websocket/proxy_websocket.ts";
import type { WebSocketRuntime } from "./websocket/socket.ts";

/** What the app is built from (see `gateway.ts`, which owns the lifecycle). */
export interface AppDeps extends ForwardDeps {
  config: GatewayConfig;
  routes: readonly RouteRuntime[];
  /** Every route's upstreams, for the metrics and the admin endpoints. */
  upstreams(): UpstreamView[];
  logger: Logger;
  isDraining(): boolean;
  /** WebSocket proxying; absent where the runtime has none (upgrades are then plain requests). */
  websockets?: { runtime: WebSocketRuntime; sockets: OpenSockets };
}

type Env = { Bindings: Exchange };

const NO_CLAIMS: [string, string][] = [];

/**
 * The Hono app: built-in endpoints under `/_gateway/`, then one handler per
 * configured route. This is the one place the stage order is written:
 * route → loop check (`Via`) → CORS preflight → method → Max-Forwards 0 →
 * auth → rate limit → bulkhead →
 * (breaker → retry → timeout → fetch → stream back, in `forward`).
 * A WebSocket upgrade on a route with `websocket` on takes the same stages
 * (GET only, its handshake checked first), then in `proxyWebSocket`:
 * breaker → upstream handshake → client upgrade → relay.
 */
export function createApp(deps: AppDeps): Hono<Env> {
  const { board, metrics, config } = deps;
  const app = new Hono<Env>();
  const { upstreams } = deps;

  app.route("/_gateway/health", healthEndpoints(board, deps.isDraining));
  const scrape = metricsEndpoint({
    tokens: config.metricsTokens,
    metrics,
    board,
    upstreams,
  });
  app.get("/_gateway/metrics", (c) => scrape(c.req.raw));
  if (config.adminToken !== null) {
    app.route(
      "/_gateway",
      adminEndpoints({
        token: config.adminToken,
        routes: config.routes,
        board,
        metrics,
        clock: deps.clock,
        upstreams,
      }),
    );
  }
  app.all("/_gateway/*", () => {
    throw new GatewayError(404, "no_route", "Unknown gateway endpoint.");
  });

  for (const rt of deps.routes) {
    // The exchange holds the request: `c.req` would build a HonoRequest.
    app.all(rt.route.path, (c) => proxy(c.env.request, c.env, rt, deps));
  }

  app.notFound((c) => {
    c.env.flag("NR");
    throw new GatewayError(
      404,
      "no_route",
      `No route for ${c.req.method} ${c.req.path}.`,
    );
  });
  app.onError((error, c) => errorResponse(error, c.env, deps));
  return app;
}

async function proxy(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  deps: AppDeps,
): Promise<Response> {
  exchange.route = rt;
  checkLoop(request, deps.via);
  if (deps.isDraining()) {
    exchange.flag("DR");
    throw new GatewayError(
      503,
      "draining",
      "The gateway is shutting down; retry on another instance.",
      { "retry-after": "1", connection: "close" },
    );
  }
  // A preflight is the browser asking, not the method it asks about: it is
  // answered here even on routes whose methods exclude OPTIONS.
  const cors = rt.route.policy.cors;
  if (cors !== null) {
    const preflight = corsPreflight(cors, request);
    if (preflight !== null) return preflight;
  }
  checkMethod(rt, request.method);
  const websockets = deps.websockets;
  if (
    websockets !== undefined && rt.route.policy.websocket !== null &&
    isWebSocketUpgrade(request.headers)
  ) return proxyUpgrade(request, exchange, rt, { ...deps, ...websockets });
  const finalRecipient = answerMaxForwards(request, rt);
  if (finalRecipient !== null) return finalRecipient;
  // No await for a route without auth: one microtask less per request.
  const claimHeaders = rt.authenticate === null
    ? NO_CLAIMS
    : await authenticate(rt, request.headers, exchange);
  // Likewise no await unless the route's limit is fleet-wide (a store call).
  const limiting = limitRate(rt, exchange);
  if (limiting !== undefined) await limiting;
  const release = limitConcurrency(rt, exchange, deps.metrics);
  const response = await forward(
    request,
    exchange,
    rt,
    claimHeaders,
    release,
    deps,
  );
  if (cors !== null) {
    applyCors(cors, request.headers.get("origin"), response.headers);
  }
  return response;
}

/**
 * A WebSocket upgrade on a route with `websocket` on: the same stages as
 * `proxy` (GET only, its handshake checked first, a browser's
 * `access_token` accepted), then `proxyWebSocket`.
 */
async function proxyUpgrade(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  deps: WebSocketDeps,
): Promise<Response> {
  if (request.method !== "GET") {
    throw new GatewayError(
      405,
      "method_not_allowed",
      "A WebSocket upgrade must be a GET request.",
      { allow: "GET" },
    );
  }
  checkClientHandshake(request.headers, deps.runtime.seesConnectionHeader);
  const claimHeaders = await authenticate(
    rt,
    queryCredentialHeaders(request) ?? request.headers,
    exchange,
  );
  await limitRate(rt, exchange);
  const release = limitConcurrency(rt, exchange, deps.metrics);
  return proxyWebSocket(request, exchange, rt, claimHeaders, release, deps);
}

/** The one place errors become responses. */
function errorResponse(
  error: unknown,
  exchange: Exchange,
  { logger, metrics }: Pick<AppDeps, "logger" | "metrics">,
): Response {
  if (isGatewayError(error)) {
    countError(exchange, error.code, metrics);
    const response = problemResponse(error, exchange.requestId);
    if (exchange.route?.route.policy.cors) {
      applyCors(
        exchange.route.route.policy.cors,
        exchange.request.headers.get("origin"),
        response.headers,
      );
    }
    return response;
  }
  if (error instanceof ClientGone) {
    // Nobody is listening; the status is for the access log.
    return new Response(null, {
      status: CLIENT_CLOSED_REQUEST,
      headers: GATEWAY_RESPONSE_HEADERS,
    });
  }
  logger.error("unexpected error", {
    requestId: exchange.requestId,
    error,
  });
  countError(exchange, "internal", metrics);
  return problemResponse(internalError(), exchange.requestId);
}

/**
 * Gateway-made errors of routed (or unmatched) traffic, by code: the
 * gateway's own endpoints (a scrape without its token, say) are no traffic.
 */
function countError(
  exchange: Exchange,
  code: string,
  metrics: AppDeps["metrics"],
): void {
  const route = exchange.route?.route.name;
  if (
    route === undefined &&
    isInternalPath(splitTarget(exchange.request.url).pathname)
  ) return;
  metrics.gatewayError(route ?? UNMATCHED_ROUTE, code);
}

import { createApp } from "./app.ts";
import type { UpstreamPool, UpstreamView } from "./balance/upstream_pool.ts";
import type { GatewayConfig } from "./config/types.ts";
import {
  createProxyTrust,
  resolveClientAddress,
} from "./http/client_address.ts";
import { requestIdFor } from "./http/request_id.ts";
import { splitTarget } from "./http/split_target.ts";
import { type AccessLogEntry, createAccessLog } from "./observe/access_log.ts";
import type { LogSink } from "./observe/log_line.ts";
import { createLogger, type Logger } from "./observe/logger.ts";
import { GatewayMetrics, UNMATCHED_ROUTE } from "./observe/metrics.ts";
import { internalEndpoint, isInternalPath } from "./endpoints/internal_path.ts";
import {
  BreakerBoard,
  type BreakerBoardOptions,
} from "./resilience/breaker_board.ts";
import type { BreakerStore } from "./resilience/breaker_store.ts";
import { type Clock, systemClock } from "./resilience/clock.ts";
import { RateLimiter } from "./resilience/rate_limiter.ts";
import { Exchange } from "./pipeline/exchange.ts";
import type { NativePipe } from "./pipeline/native_pipe.ts";
import {
  compileRoute,
  type FleetRateLimitFactory,
  type RouteRuntime,
} from "./pipeline/route_runtime.ts";
import { HealthChecker } from "./balance/health_check.ts";
import type { TraceContinuer } from "./http/traceparent.ts";
import { MemoryBreakerStore } from "./runtime/memory/breaker_store.ts";
import { GOING_AWAY } from "./websocket/close_codes.ts";
import { OpenSockets } from "./websocket/open_sockets.ts";
import type { WebSocketRuntime } from "./websocket/socket.ts";

/** What the runtime knows about the connection a request came in on. */
export interface ClientContext {
  /** The peer's IP address (Deno: `info.remoteAddr`; Workers: `CF-Connecting-IP`). */
  address?: string;
  /**
   * Settles when the runtime is done with the response (Deno:
   * `info.completed`; it may also resolve for a response cut short, and
   * rejects for some).
   */
  completed?: Promise<unknown>;
  /**
   * Keeps the request's context alive until the exchange has ended
   * (Workers: `ctx.waitUntil`): workerd tears a request's context down once
   * its client left, and with it the timers and reads that would end the
   * exchange (see docs/streaming.md).
   */
  waitUntil?(promise: Promise<unknown>): void;
  /**
   * The client's own `Accept-Encoding` where the platform replaced the
   * header (Workers: `request.cf.clientAcceptEncoding`; Cloudflare and
   * `wrangler dev` show the Worker `br, gzip` whatever the client sent).
   */
  acceptEncoding?: string;
}

/** How breaker state is pulled from the store (see `BreakerBoardOptions`). */
export type BreakerSyncOptions = Pick<
  BreakerBoardOptions,
  "autoSync" | "syncIntervalMs" | "storeTimeoutMs"
>;

/** What `createGateway` builds a gateway from; only `config` is required. */
export interface GatewayOptions {
  /** The validated config (`parseConfig` or `validateConfig`). */
  config: GatewayConfig;
  /** Where breaker state is shared; default: this process only. */
  breakerStore?: BreakerStore;
  /** Time for every deadline, backoff and window; default the system clock. */
  clock?: Clock;
  /** How upstreams are called; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Where log lines go; default `console.log`. */
  logSink?: LogSink;
  /** Randomness for backoff jitter and ids; default `Math.random`. */
  random?: () => number;
  /** Workers: keeps background store writes alive. */
  waitUntil?(promise: Promise<unknown>): void;
  /**
   * Called once per finished exchange with its access-log entry: the hook
   * for per-request exporters (Workers Analytics Engine, say).
   */
  onExchange?(entry: AccessLogEntry): void;
  /** See `ForwardDeps.clientWatchDelayMs`; default 0 (watch at once). */
  clientWatchDelayMs?: number;
  /** See `ForwardDeps.nativePipe`; default none (every body relayed). */
  nativePipe?: NativePipe;
  /**
   * Workers: fleet rate limits through the runtime's rate-limit binding
   * instead of the breaker store's counter (see docs/shared-state.md).
   */
  fleetRateLimit?: FleetRateLimitFactory;
  /** Continues the client's trace; default the gateway's own (Deno's OpenTelemetry passes one). */
  continueTrace?: TraceContinuer;
  /**
   * How active health checks run: `"timers"` (default) probes each interval
   * on the clock; `"manual"` only when `checkHealth()` is called (a Workers
   * Cron Trigger), reading the fleet's verdicts on traffic meanwhile.
   */
  healthChecks?: "timers" | "manual";
  /**
   * The runtime's WebSocket support (`websocket.ts` in `src/runtime/deno` or `src/runtime/workers`); without
   * it WebSocket upgrades are plain requests.
   */
  websocketRuntime?: WebSocketRuntime;
  /** How breaker state is pulled from the store (see `BreakerBoardOptions`). */
  breakerSync?: BreakerSyncOptions;
}

/** A gateway: a fetch handler with what the runtime adapters and admin need. */
export interface Gateway {
  /** Answers one request, from any runtime; `client` says who sent it. */
  fetch(request: Request, client?: ClientContext): Promise<Response>;
  /** Readiness turns 503 and routed requests get 503 `draining`. */
  startDrain(): void;
  /**
   * Swaps in a validated config: requests from now on follow its routes,
   * policies and upstreams; exchanges already running (open streams too)
   * finish on the config they started with. Breakers of (route, upstream)
   * pairs whose breaker policy is unchanged keep their state, metrics keep
   * counting. `log.level` and the longest probe lease stay as started.
   */
  reload(config: GatewayConfig): void;
  /** The config new requests follow. */
  readonly config: GatewayConfig;
  /** Exchanges still running (bodies included). */
  readonly inflight: number;
  /** Proxied WebSockets still open. */
  readonly openWebSockets: number;
  /** Resolves once no proxied WebSocket is open. */
  webSocketsClosed(): Promise<void>;
  /** Closes every open WebSocket with 1001 (the end of a shutdown's drain time). */
  closeWebSockets(): void;
  /** Where the gateway's own log lines go (start-up, transitions, drain). */
  readonly logger: Logger;
  /** The Prometheus registry behind `/_gateway/metrics`. */
  readonly metrics: GatewayMetrics;
  /** Every breaker, with its store. */
  readonly board: BreakerBoard;
  /** One round of active health checks for every route that has them (Workers: from `scheduled`). */
  checkHealth(): Promise<void>;
  /** The Prometheus text `/_gateway/metrics` serves (for exporters). */
  renderMetrics(): string;
  /** Stops background work (breaker sync, health checks); the store's owner closes the store. */
  close(): Promise<void>;
}

/**
 * Builds the gateway from a validated config: compiles routes once, wires
 * breakers, metrics and logs, and returns a fetch handler any runtime can
 * serve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createGateway } from "./gateway.ts";
 * import { parseConfig } from "./config/load_config.ts";
 *
 * const parsed = parseConfig(JSON.stringify({
 *   routes: [{ name: "users", path: "/api/users/*", upstreams: ["http://10.0.0.5:8080/v1"], stripPrefix: "/api" }],
 * }), () => undefined);
 * assert.ok(parsed.ok);
 * const seen: string[] = [];
 * const gateway = createGateway({
 *   config: parsed.config,
 *   // Upstream calls go through `fetch`; on a server leave it out.
 *   fetch: (input) => {
 *     seen.push(new Request(input).url);
 *     return Promise.resolve(new Response("user 7"));
 *   },
 *   logSink: () => {},
 * });
 * // Serve it with Deno.serve((req, info) => gateway.fetch(req, { address: info.remoteAddr.hostname })).
 * const response = await gateway.fetch(new Request("http://gw.test/api/users/7"));
 * assert.equal(await response.text(), "user 7");
 * assert.deepEqual(seen, ["http://10.0.0.5:8080/v1/users/7"]);
 * await gateway.close();
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  // Called through a closure: workerd throws "Illegal invocation" when the
  // global fetch is called detached from globalThis.
  const upstreamFetch = options.fetch ??
    ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const logger = createLogger({
    level: config.log.level,
    sink: options.logSink,
    now: () => clock.now(),
  });
  const metrics = new GatewayMetrics({ now: () => clock.now() });
  const random = options.random ?? Math.random;
  const store = options.breakerStore ?? new MemoryBreakerStore();
  const board = new BreakerBoard({
    clock,
    store,
    waitUntil: options.waitUntil,
    ...options.breakerSync,
    // A probe's shared slot must outlive the longest exchange it may start.
    probeLeaseMs: Math.max(
      ...config.routes.map((route) => route.policy.timeouts.totalMs),
    ),
    onTransition(view, from) {
      metrics.breakerTransition(view.route, view.upstream, view.state);
      logger.warn("breaker transition", {
        route: view.route,
        upstream: view.upstream,
        from,
        to: view.state,
        openUntil: view.openUntil,
      });
    },
    onStoreError(error, firstOfIncident) {
      metrics.storeError("store");
      if (firstOfIncident) {
        logger.error("breaker store failing; continuing on local state", {
          error,
        });
      }
    },
  });
  const healthSchedule = options.healthChecks ?? "timers";
  const health = new HealthChecker({
    store,
    clock,
    fetch: upstreamFetch,
    holder: crypto.randomUUID(),
    schedule: healthSchedule,
    onChange(route, upstream, healthy) {
      logger.warn("upstream health", { route, upstream, healthy });
    },
    onStoreError(error, firstOfIncident) {
      metrics.storeError("health");
      if (firstOfIncident) {
        logger.error("health-check store failing; keeping the last verdicts", {
          error,
        });
      }
    },
  });
  const background = options.waitUntil ?? (() => {});
  let draining = false;
  let inflight = 0;
  const sockets = new OpenSockets();

  /**
   * A fleet limit with nowhere to count across the fleet counts per
   * instance (`compileRoute` gave it the local limiter): say so.
   */
  function warnIfFleetLimitIsLocal(rt: RouteRuntime): void {
    const { route } = rt;
    const fleet = route.policy.rateLimit?.scope === "fleet";
    if (fleet && rt.rateLimiter instanceof RateLimiter) {
      logger.warn(
        "rateLimit.scope fleet needs a store with counters (Deno KV, Redis, the Durable Object or the rate-limit binding); counting per instance",
        { route: route.name },
      );
    }
  }

  /** Everything a config decides, built once per config (start and each reload). */
  function buildGeneration(
    next: GatewayConfig,
    previous?: Generation,
  ): Generation {
    const routes = next.routes.map((route) => {
      metrics.declareRoute(route.name, route.policy.timeouts.totalMs / 1000);
      const rt = compileRoute(route, {
        clock,
        fetch: upstreamFetch,
        board,
        metrics,
        random,
        fleetRateLimit: options.fleetRateLimit,
        onJwksFetchError: (error) =>
          logger.warn("JWKS fetch failed", { route: route.name, error }),
      });
      warnIfFleetLimitIsLocal(rt);
      return rt;
    });
    if (previous !== undefined) {
      const before = new Map(
        previous.pools.map((pool) => [pool.route.name, pool]),
      );
      for (const { pool } of routes) {
        const old = before.get(pool.route.name);
        if (old !== undefined) pool.carryOver(old);
      }
    }
    const pools = routes.map((rt) => rt.pool);
    health.setPools(pools);
    const upstreams = () => pools.flatMap((pool) => pool.views());
    return {
      config: next,
      pools,
      upstreams,
      // Without trusted proxies no address needs parsing on the hot path.
      isTrusted: next.trustedProxies.length === 0
        ? () => false
        : createProxyTrust(next.trustedProxies),
      writeAccessLog: createAccessLog({
        sampleRate: next.log.sampleRate,
        sink: options.logSink,
        now: () => clock.now(),
      }),
      app: createApp({
        config: next,
        routes,
        upstreams,
        clock,
        fetch: upstreamFetch,
        board,
        metrics,
        logger,
        random,
        serverTiming: next.serverTiming,
        via: next.via,
        continueTrace: options.continueTrace,
        clientWatchDelayMs: options.clientWatchDelayMs,
        nativePipe: options.nativePipe,
        isDraining: () => draining,
        websockets: options.websocketRuntime &&
          { runtime: options.websocketRuntime, sockets },
      }),
    };
  }

  board.reconcile(breakerPairs(config));
  let current = buildGeneration(config);

  /**
   * The one place timeouts are counted: attempts without headers in time,
   * and the deadline that ended a body or the exchange; and clients that left.
   */
  function countEnds(route: string, exchange: Exchange): void {
    for (let n = 0; n < exchange.headersTimeouts; n++) {
      metrics.timeout(route, "headers");
    }
    for (let n = 0; n < exchange.firstByteTimeouts; n++) {
      metrics.timeout(route, "first_byte");
    }
    const { flags } = exchange;
    if (flags.length === 0) return;
    if (flags.includes("IT")) metrics.timeout(route, "idle");
    if (flags.includes("TT")) metrics.timeout(route, "total");
    if (flags.includes("CD")) metrics.clientDisconnect(route);
    if (flags.includes("RL")) metrics.rateLimited(route);
  }

  function finish(exchange: Exchange, status: number): void {
    inflight--;
    const durationMs = clock.now() - exchange.startedAt;
    const route = exchange.route?.route.name ?? null;
    const path = splitTarget(exchange.request.url).pathname;
    if (route !== null) countEnds(route, exchange);
    if (route === null && isInternalPath(path)) {
      metrics.internalRequest(internalEndpoint(path), status);
    } else {
      metrics.requestFinished(
        route ?? UNMATCHED_ROUTE,
        exchange.request.method,
        status,
        // A WebSocket's life is no request latency: its handshake time is.
        (exchange.websocket === null ? durationMs : exchange.ttfbMs ?? 0) /
          1000,
        exchange.ttfbMs === null ? null : exchange.ttfbMs / 1000,
      );
    }
    const entry: AccessLogEntry = {
      requestId: exchange.requestId,
      route,
      method: exchange.request.method,
      path,
      upstream: exchange.upstream,
      status,
      attempts: exchange.attempts,
      durationMs,
      ttfbMs: exchange.ttfbMs,
      bytesIn: exchange.bytesIn,
      bytesOut: exchange.bytesOut,
      flags: exchange.flags,
      clientAddress: exchange.clientAddress ?? null,
      traceId: exchange.traceId,
    };
    const socket = exchange.websocket;
    if (socket !== null) {
      entry.websocket = {
        messagesIn: socket.messagesIn,
        messagesOut: socket.messagesOut,
        closeCode: socket.closeCode,
        closedBy: socket.closedBy,
        cause: socket.cause,
      };
    }
    current.writeAccessLog(entry);
    options.onExchange?.(entry);
  }

  return {
    async fetch(request, client = {}) {
      // The generation at arrival serves the whole exchange: a reload
      // meanwhile changes nothing for it.
      const { app, isTrusted } = current;
      if (healthSchedule === "manual") health.readIfStale(background);
      const peer = client.address;
      const trusted = peer !== undefined && isTrusted(peer);
      const exchange = new Exchange(
        request,
        requestIdFor(request.headers.get("x-request-id")),
        {
          address: peer,
          trusted,
          proto: request.url.startsWith("https:") ? "https" : "http",
        },
        trusted ? resolveClientAddress(peer, request.headers, isTrusted) : peer,
        clock.now(),
        finish,
      );
      // Deno rejects it when a response was not sent whole (over HTTP/2,
      // say): only the native pipe reads it, and an unhandled rejection
      // would end the process.
      client.completed?.catch(ignoreFailure);
      exchange.completed = client.completed;
      client.waitUntil?.(
        new Promise<void>((resolve) => exchange.onEnded = resolve),
      );
      exchange.clientAcceptEncoding = client.acceptEncoding;
      inflight++;
      const response = await app.fetch(request, exchange);
      // A streamed response (a body, a WebSocket's 101) carries it already.
      if (!exchange.streaming) {
        if (!response.headers.has("x-request-id")) {
          response.headers.set("x-request-id", exchange.requestId);
        }
        exchange.finish(response.status);
      }
      return response;
    },
    startDrain() {
      draining = true;
    },
    reload(next) {
      board.reconcile(breakerPairs(next));
      current = buildGeneration(next, current);
    },
    get config() {
      return current.config;
    },
    get inflight() {
      return inflight;
    },
    get openWebSockets() {
      return sockets.size;
    },
    webSocketsClosed: () => sockets.whenEmpty(),
    closeWebSockets() {
      sockets.closeAll(GOING_AWAY, "gateway shutting down", "shutdown");
    },
    logger,
    metrics,
    board,
    checkHealth: () => health.runOnce(),
    renderMetrics: () => metrics.render(board.views(), current.upstreams()),
    async close() {
      await health.close();
      await board.close();
    },
  };
}

/** What one config builds: swapped whole on reload. */
interface Generation {
  config: GatewayConfig;
  /** Every route's upstream pool, carried over by name on a reload. */
  pools: UpstreamPool[];
  /** The upstreams of every route, for metrics. */
  upstreams(): UpstreamView[];
  isTrusted: (address: string) => boolean;
  writeAccessLog: (entry: AccessLogEntry) => void;
  app: {
    fetch(request: Request, exchange: Exchange): Response | Promise<Response>;
  };
}

/** Every (route, upstream) breaker a config asks for. */
function breakerPairs(config: GatewayConfig) {
  return config.routes.flatMap((route) =>
    route.upstreams.map((upstream) => ({
      route: route.name,
      upstream: upstream.url,
      policy: route.policy.breaker,
    }))
  );
}

/** What a promise whose failure is seen elsewhere is left with. */
function ignoreFailure(): void {}

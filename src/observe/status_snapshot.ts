import type { Route } from "../config/types.ts";
import type { WindowRate } from "./rate_window.ts";

import type { BreakerView } from "../resilience/breaker_board.ts";
import type { UpstreamView } from "../balance/upstream_pool.ts";

export type { BreakerView, UpstreamView };

/** One route with its recent traffic. */
export interface RouteStatus {
  name: string;
  path: string;
  /** Upper-case methods; `null` allows all. */
  methods: string[] | null;
  upstreams: string[];
  requestsPerSecond: number;
  /** Share of 5xx responses, 0..1. */
  errorRate: number;
  /** Proxied WebSockets open now. */
  openWebSockets: number;
}

/** Health of the shared breaker store (Deno KV or Workers KV). */
export interface StoreHealth {
  healthy: boolean;
  /** Store failures since start. */
  errors: number;
  /** The last failure's message; `null` when there was none. */
  lastError: string | null;
}

/** What `GET /_gateway/status.json` returns and the status page renders. */
export interface StatusSnapshot {
  /** Server time of the snapshot (ms since the epoch); countdowns are relative to it. */
  generatedAt: number;
  routes: RouteStatus[];
  breakers: BreakerView[];
  /** Each upstream's pool state (health checks, traffic, p2c cost). */
  upstreams?: UpstreamView[];
  store: StoreHealth;
}

/** Inputs of {@linkcode buildStatusSnapshot}. */
export interface StatusSources {
  routes: readonly Route[];
  /** From `GatewayMetrics.routeRates()`; routes without traffic are shown at 0. */
  rates: Record<string, WindowRate>;
  /** Open WebSockets per route (`GatewayMetrics.openWebSockets`). */
  openWebSockets(route: string): number;
  breakers: BreakerView[];
  upstreams?: UpstreamView[];
  store: StoreHealth;
  now: number;
}

/**
 * Joins config, metrics and breaker state into the snapshot the status
 * page polls, routes in config order.
 *
 * @example
 * ```ts ignore
 * const snapshot = buildStatusSnapshot({
 *   routes: config.routes,
 *   rates: metrics.routeRates(),
 *   openWebSockets: (route) => metrics.openWebSockets(route),
 *   breakers: await breakers.views(),
 *   store: storeHealth(),
 *   now: Date.now(),
 * });
 * return Response.json(snapshot, { headers: { "cache-control": "no-store" } });
 * ```
 */
export function buildStatusSnapshot(sources: StatusSources): StatusSnapshot {
  return {
    generatedAt: sources.now,
    routes: sources.routes.map((route) => {
      const rate = sources.rates[route.name];
      return {
        name: route.name,
        path: route.path,
        methods: route.methods,
        upstreams: route.upstreams.map((upstream) => upstream.url),
        requestsPerSecond: rate?.requestsPerSecond ?? 0,
        errorRate: rate?.errorRate ?? 0,
        openWebSockets: sources.openWebSockets(route.name),
      };
    }),
    breakers: sources.breakers,
    upstreams: sources.upstreams ?? [],
    store: sources.store,
  };
}

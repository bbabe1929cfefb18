import type { Route } from "../config/types.ts";
import type { BreakerStateName } from "./metrics.ts";
import type { WindowRate } from "./rate_window.ts";

/** One breaker as the admin API and the status page show it. */
export interface BreakerView {
  route: string;
  /** The upstream URL as configured. */
  upstream: string;
  state: BreakerStateName;
  /** Increases on every transition; tells a stale view from a fresh one. */
  epoch: number;
  /** When an open breaker turns half-open (ms since the epoch); `null` otherwise. */
  openUntil: number | null;
  /** Calls in the current window. */
  calls: number;
  /** Share of failed calls in the window, 0..1. */
  failureRate: number;
  /** Share of slow calls in the window, 0..1. */
  slowCallRate: number;
  /** Held in its state by an admin (force-open / force-close) until reset. */
  forced: boolean;
}

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
  store: StoreHealth;
}

/** Inputs of {@linkcode buildStatusSnapshot}. */
export interface StatusSources {
  routes: readonly Route[];
  /** From `GatewayMetrics.routeRates()`; routes without traffic are shown at 0. */
  rates: Record<string, WindowRate>;
  breakers: BreakerView[];
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
      };
    }),
    breakers: sources.breakers,
    store: sources.store,
  };
}

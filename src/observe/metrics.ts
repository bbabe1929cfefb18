import {
  DEFAULT_DURATION_BUCKETS,
  Histogram,
  validateBuckets,
} from "./histogram.ts";
import { familyHeader, formatLabels, sampleLine } from "./prometheus_text.ts";
import { RateWindow, type WindowRate } from "./rate_window.ts";
import { VERSION } from "../version.ts";
import type { BreakerStateName } from "../resilience/breaker_merge.ts";
import { type Series, SeriesFamily } from "./series_family.ts";

/** Which timeout fired: response headers, body silence, or the whole exchange. */
export type TimeoutKind = "headers" | "first_byte" | "idle" | "total";

/** How one upstream attempt ended. */
export type AttemptOutcome =
  | "success"
  | "http_error"
  | "network"
  | "timeout";

export type { BreakerStateName };

/** One breaker's current state, for the `gateway_breaker_state` gauge. */
export interface BreakerStateSample {
  /** The route name. */
  route: string;
  /** The upstream URL as configured. */
  upstream: string;
  /** The state the gauge reports (0, 1, 2). */
  state: BreakerStateName;
}

/** The gateway's own endpoints, counted apart from routed traffic. */
export type InternalEndpoint = "health" | "metrics" | "admin" | "unknown";
/**
 * One route's WebSocket message counters, looked up once per socket so a
 * relayed message costs two increments.
 */
export interface WebSocketCounters {
  /** Messages from the client to the upstream. */
  messagesIn: Series;
  /** Messages from the upstream to the client. */
  messagesOut: Series;
  /** Payload bytes from the client to the upstream. */
  bytesIn: Series;
  /** Payload bytes from the upstream to the client. */
  bytesOut: Series;
}

/** What the pipeline passes as the route of a request no route matched. */
export const UNMATCHED_ROUTE = "(none)";

/** Methods kept as their own label value; any other becomes `OTHER`. */
const STANDARD_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/**
 * The states of `gateway_breaker_in_state`. Besides the 0/1/2 gauge the
 * contract names, each state is its own 0/1 series: dashboards and alerts
 * can count breakers per state (`sum by (state)`) and select open ones
 * (`{state="open"} == 1`) without decoding numbers, and averaging a 0/1/2
 * gauge across instances would invent states (avg(0, 2) reads as "open").
 */
const BREAKER_STATES: readonly BreakerStateName[] = [
  "closed",
  "open",
  "half_open",
];

const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = {
  closed: 0,
  open: 1,
  half_open: 2,
};

/** A status label bounded to real HTTP codes; anything else is one value. */
function statusKey(status: number): number | string {
  return Number.isInteger(status) && status >= 100 && status <= 599
    ? status
    : "other";
}

/** Unmatched requests carry an empty route label, as the contract has it. */
function routeLabel(route: string): string {
  return route === UNMATCHED_ROUTE ? "" : route;
}

/** Options for {@linkcode GatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** Duration histogram bounds in seconds; default 0.005 … 600. */
  buckets?: number[];
  /** Milliseconds since the epoch, for {@linkcode GatewayMetrics.routeRates}; default `Date.now`. */
  now?: () => number;
}

interface RouteCounters {
  duration: Histogram;
  firstByte: Histogram;
  rates: RateWindow;
}

/** `gateway_build_info`: which version answers, for dashboards and alerts. */
const BUILD_INFO = familyHeader(
  "gateway_build_info",
  "gauge",
  "Always 1; the version label says which gateway version is running.",
) + sampleLine("gateway_build_info", formatLabels(["version"], [VERSION]), 1);

/**
 * The gateway's metrics registry, rendered in the Prometheus text format.
 *
 * Every method is on the request path, so each is a few `Map` lookups and
 * increments: series are found through nested maps by label value (no key
 * strings built per call) and carry their label set rendered once. Label
 * values are bounded: routes and upstreams come from config, methods
 * outside the standard set become `OTHER`, statuses outside 100–599 become
 * `other`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GatewayMetrics } from "./metrics.ts";
 * const metrics = new GatewayMetrics();
 * metrics.requestFinished("users", "GET", 200, 0.012);
 * const text = metrics.render([{ route: "users", upstream: "http://a", state: "closed" }]);
 * assert.equal(text.includes('gateway_requests_total{route="users",method="GET",status="200"} 1'), true);
 * ```
 */
export class GatewayMetrics {
  readonly #buckets: readonly number[];
  readonly #now: () => number;
  readonly #routes = new Map<string, RouteCounters>();
  /** Rates of a route first seen late still count from start-up: it had no traffic before. */
  readonly #startedAt: number;

  readonly #requests = new SeriesFamily(["route", "method", "status"]);
  readonly #attempts = new SeriesFamily(["route", "upstream", "outcome"]);
  readonly #retries = new SeriesFamily(["route"]);
  readonly #budgetDenied = new SeriesFamily(["route"]);
  readonly #timeouts = new SeriesFamily(["route", "kind"]);
  readonly #bulkheadRejections = new SeriesFamily(["route"]);
  readonly #inflight = new SeriesFamily(["route"]);
  readonly #transitions = new SeriesFamily(["route", "upstream", "to"]);
  readonly #storeErrors = new SeriesFamily(["operation"]);
  readonly #disconnects = new SeriesFamily(["route"]);
  readonly #rateLimited = new SeriesFamily(["route"]);
  readonly #internal = new SeriesFamily(["endpoint", "status"]);
  readonly #configReloads = new SeriesFamily(["result"]);
  readonly #gatewayErrors = new SeriesFamily(["route", "code"]);
  /** 1 until a config reload is refused, back to 1 at the next good one. */
  #lastReloadOk = 1;
  readonly #websocketsActive = new SeriesFamily(["route"]);
  readonly #websocketMessages = new SeriesFamily(["route", "direction"]);
  readonly #websocketBytes = new SeriesFamily(["route", "direction"]);

  /** An empty registry. */
  constructor(options: GatewayMetricsOptions = {}) {
    const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
    validateBuckets(buckets);
    this.#buckets = [...buckets];
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /**
   * Creates a route's series up front (a scrape shows them at 0 before any
   * traffic), with a last duration bound at `longestSeconds` (its
   * `totalMs`) when that is past the shared buckets. A route already known
   * keeps its series (a config reload does not reset counters).
   */
  declareRoute(route: string, longestSeconds: number): void {
    if (this.#routes.has(route)) return;
    const last = this.#buckets[this.#buckets.length - 1];
    this.#routes.set(
      route,
      this.#newRouteCounters(
        route,
        longestSeconds > last
          ? [...this.#buckets, longestSeconds]
          : this.#buckets,
      ),
    );
  }

  /**
   * A response went out (or the exchange ended) with `status` after
   * `durationSeconds`; `firstByteSeconds` when a body byte went out.
   */
  requestFinished(
    route: string,
    method: string,
    status: number,
    durationSeconds: number,
    firstByteSeconds: number | null = null,
  ): void {
    const label = routeLabel(route);
    const normalizedMethod = STANDARD_METHODS.has(method) ? method : "OTHER";
    this.#requests.of3(label, normalizedMethod, statusKey(status)).value++;
    const counters = this.#routeCounters(route);
    counters.duration.observe(durationSeconds);
    if (firstByteSeconds !== null) counters.firstByte.observe(firstByteSeconds);
    counters.rates.record(this.#now(), status >= 500);
  }

  /** A request to the gateway's own endpoints (`/_gateway/…`) was answered. */
  internalRequest(endpoint: InternalEndpoint, status: number): void {
    this.#internal.of2(endpoint, statusKey(status)).value++;
  }

  /** The gateway answered routed (or unmatched) traffic with its own error `code`. */
  gatewayError(route: string, code: string): void {
    this.#gatewayErrors.of2(routeLabel(route), code).value++;
  }

  /** A config reload was applied (`true`) or refused as invalid (`false`). */
  configReload(applied: boolean): void {
    this.#configReloads.of1(applied ? "applied" : "refused").value++;
    this.#lastReloadOk = applied ? 1 : 0;
  }

  /** The route's rate limit refused a client (429). */
  rateLimited(route: string): void {
    this.#rateLimited.of1(routeLabel(route)).value++;
  }

  /** One upstream attempt ended with `outcome`. */
  attempt(route: string, upstream: string, outcome: AttemptOutcome): void {
    this.#attempts.of3(routeLabel(route), upstream, outcome).value++;
  }

  /** A retry was made. */
  retry(route: string): void {
    this.#retries.of1(routeLabel(route)).value++;
  }

  /** A retry was due but the retry budget refused it. */
  retryBudgetDenied(route: string): void {
    this.#budgetDenied.of1(routeLabel(route)).value++;
  }

  /** A timeout of `kind` fired. */
  timeout(route: string, kind: TimeoutKind): void {
    this.#timeouts.of2(routeLabel(route), kind).value++;
  }

  /** The bulkhead was full and the request was answered 503 at once. */
  bulkheadRejected(route: string): void {
    this.#bulkheadRejections.of1(routeLabel(route)).value++;
  }

  /** An exchange started (`1`) or ended, body included (`-1`). */
  inflight(route: string, delta: 1 | -1): void {
    this.#inflight.of1(routeLabel(route)).value += delta;
  }

  /** A breaker moved to state `to`. */
  breakerTransition(
    route: string,
    upstream: string,
    to: BreakerStateName,
  ): void {
    this.#transitions.of3(routeLabel(route), upstream, to).value++;
  }

  /** The shared breaker store failed during `operation` (the gateway went on locally). */
  storeError(operation: string): void {
    this.#storeErrors.of1(operation).value++;
  }

  /** The client went away before the response was complete. */
  clientDisconnect(route: string): void {
    this.#disconnects.of1(routeLabel(route)).value++;
  }

  /** A WebSocket opened (`1`) or closed (`-1`) on `route`. */
  websocketsActive(route: string, delta: 1 | -1): void {
    this.#websocketsActive.of1(routeLabel(route)).value += delta;
  }

  /** Open WebSockets on `route` (the `gateway_websockets_active` gauge). */
  openWebSockets(route: string): number {
    return this.#websocketsActive.find1(routeLabel(route))?.value ?? 0;
  }

  /** The message and byte counters of `route`'s sockets (`in`: client → upstream). */
  websocketCounters(route: string): WebSocketCounters {
    const label = routeLabel(route);
    return {
      messagesIn: this.#websocketMessages.of2(label, "in"),
      messagesOut: this.#websocketMessages.of2(label, "out"),
      bytesIn: this.#websocketBytes.of2(label, "in"),
      bytesOut: this.#websocketBytes.of2(label, "out"),
    };
  }

  /**
   * Prometheus text format 0.0.4. `breakers` gives the current states for
   * the `gateway_breaker_state` gauge (they live in the breakers, not here).
   */
  render(
    breakers: Iterable<BreakerStateSample>,
    upstreams: Iterable<UpstreamSample> = [],
  ): string {
    let out = BUILD_INFO;
    out += counterFamily(
      "gateway_requests_total",
      "Requests answered, by route, method and status code.",
      this.#requests,
    );
    out += familyHeader(
      "gateway_request_duration_seconds",
      "histogram",
      "Time from request to the end of the response, by route.",
    );
    for (const counters of this.#routes.values()) {
      out += counters.duration.render("gateway_request_duration_seconds");
    }
    out += familyHeader(
      "gateway_time_to_first_byte_seconds",
      "histogram",
      "Time from request to the first response body byte sent, by route.",
    );
    for (const counters of this.#routes.values()) {
      out += counters.firstByte.render("gateway_time_to_first_byte_seconds");
    }
    out += counterFamily(
      "gateway_upstream_attempts_total",
      "Upstream attempts, by route, upstream and outcome.",
      this.#attempts,
    );
    out += counterFamily(
      "gateway_retries_total",
      "Retries made, by route.",
      this.#retries,
    );
    out += counterFamily(
      "gateway_retry_budget_denied_total",
      "Retries refused by the retry budget, by route.",
      this.#budgetDenied,
    );
    out += counterFamily(
      "gateway_timeouts_total",
      "Timeouts, by route and kind (headers, idle, total).",
      this.#timeouts,
    );
    out += familyHeader(
      "gateway_breaker_state",
      "gauge",
      "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
    );
    let inState = familyHeader(
      "gateway_breaker_in_state",
      "gauge",
      "Circuit breaker state as a label set: 1 for the current state, 0 for the others.",
    );
    for (const breaker of breakers) {
      const labels = formatLabels(["route", "upstream"], [
        routeLabel(breaker.route),
        breaker.upstream,
      ]);
      out += sampleLine(
        "gateway_breaker_state",
        labels,
        BREAKER_STATE_VALUE[breaker.state],
      );
      for (const state of BREAKER_STATES) {
        inState += sampleLine(
          "gateway_breaker_in_state",
          `${labels},state="${state}"`,
          state === breaker.state ? 1 : 0,
        );
      }
    }
    out += inState;
    out += counterFamily(
      "gateway_breaker_transitions_total",
      "Circuit breaker state changes, by route, upstream and new state.",
      this.#transitions,
    );
    out += counterFamily(
      "gateway_breaker_store_errors_total",
      "Failures of the shared breaker store, by operation.",
      this.#storeErrors,
    );
    out += counterFamily(
      "gateway_bulkhead_rejections_total",
      "Requests rejected because the route's bulkhead was full.",
      this.#bulkheadRejections,
    );
    out += seriesLines(
      "gateway_inflight",
      "gauge",
      "Exchanges in flight (bodies included), by route.",
      this.#inflight,
    );
    out += counterFamily(
      "gateway_rate_limit_rejections_total",
      "Requests refused by the route's rate limit (429), by route.",
      this.#rateLimited,
    );
    out += counterFamily(
      "gateway_internal_requests_total",
      "Requests to the gateway's own endpoints (/_gateway/), by endpoint and status; not in gateway_requests_total.",
      this.#internal,
    );
    out += counterFamily(
      "gateway_errors_total",
      "Errors the gateway answered itself (problem+json), by route and code (no_route, circuit_open, overloaded, upstream_timeout, ...).",
      this.#gatewayErrors,
    );
    out += counterFamily(
      "gateway_config_reloads_total",
      "Config reloads (SIGHUP or file watch), by result: applied or refused.",
      this.#configReloads,
    );
    out += familyHeader(
      "gateway_config_last_reload_successful",
      "gauge",
      "0 while the latest config reload was refused (the running config is older than the file), else 1.",
    );
    out += sampleLine(
      "gateway_config_last_reload_successful",
      "",
      this.#lastReloadOk,
    );
    out += counterFamily(
      "gateway_client_disconnects_total",
      "Clients that went away before their response was complete, by route.",
      this.#disconnects,
    );
    out += seriesLines(
      "gateway_websockets_active",
      "gauge",
      "Open WebSockets, by route.",
      this.#websocketsActive,
    );
    out += counterFamily(
      "gateway_websocket_messages_total",
      "WebSocket messages relayed, by route and direction (in: client to upstream).",
      this.#websocketMessages,
    );
    out += counterFamily(
      "gateway_websocket_bytes_total",
      "WebSocket message payload bytes relayed, by route and direction.",
      this.#websocketBytes,
    );
    return out + upstreamFamilies(upstreams);
  }

  /**
   * Rates for the status page: per route, requests per second and the share
   * of 5xx responses over the last ~10 s.
   */
  routeRates(): Record<string, WindowRate> {
    const now = this.#now();
    const rates: Record<string, WindowRate> = {};
    for (const [route, counters] of this.#routes) {
      rates[route] = counters.rates.rate(now);
    }
    return rates;
  }

  #routeCounters(route: string): RouteCounters {
    let counters = this.#routes.get(route);
    if (counters === undefined) {
      counters = this.#newRouteCounters(route, this.#buckets);
      this.#routes.set(route, counters);
    }
    return counters;
  }

  #newRouteCounters(
    route: string,
    durationBounds: readonly number[],
  ): RouteCounters {
    const labels = formatLabels(["route"], [routeLabel(route)]);
    return {
      duration: new Histogram(labels, durationBounds),
      firstByte: new Histogram(labels, this.#buckets),
      rates: new RateWindow(this.#startedAt),
    };
  }
}

/** One upstream of a route, as its pool counts it (see `UpstreamView`). */
export interface UpstreamSample {
  /** The route name. */
  route: string;
  /** The upstream URL as configured. */
  upstream: string;
  /** Whether the pool sends it traffic. */
  healthy: boolean;
  /** Requests the pool sent it. */
  requests: number;
}

/** `gateway_upstream_requests_total` and `gateway_upstream_healthy`, kept by the pools. */
function upstreamFamilies(upstreams: Iterable<UpstreamSample>): string {
  let requests = familyHeader(
    "gateway_upstream_requests_total",
    "counter",
    "Attempts sent to each upstream, by route and upstream.",
  );
  let healthy = familyHeader(
    "gateway_upstream_healthy",
    "gauge",
    "1 while the upstream passes its health checks (always 1 without them).",
  );
  for (const sample of upstreams) {
    const labels = formatLabels(["route", "upstream"], [
      routeLabel(sample.route),
      sample.upstream,
    ]);
    requests += sampleLine(
      "gateway_upstream_requests_total",
      labels,
      sample.requests,
    );
    healthy += sampleLine(
      "gateway_upstream_healthy",
      labels,
      sample.healthy ? 1 : 0,
    );
  }
  return requests + healthy;
}

function counterFamily(
  name: string,
  help: string,
  family: SeriesFamily,
): string {
  return seriesLines(name, "counter", help, family);
}

function seriesLines(
  name: string,
  type: "counter" | "gauge",
  help: string,
  family: SeriesFamily,
): string {
  let out = familyHeader(name, type, help);
  for (const series of family.all()) {
    out += sampleLine(name, series.labels, series.value);
  }
  return out;
}

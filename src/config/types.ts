/**
 * The gateway's configuration, as it is after validation and default merging.
 * Every field is present; optional features are `null` when off.
 *
 * The JSON users write (`gateway.json`) has the same shape with most fields
 * optional; see `validate_config.ts` for the rules and `defaults.ts` for the
 * built-in values. The policies the resilience module acts on are its own
 * types, reused here.
 *
 * @module
 */

import type { BreakerPolicy } from "../resilience/circuit_breaker.ts";
import type { RateLimitPolicy } from "../resilience/rate_limiter.ts";

export type { BreakerPolicy, RateLimitPolicy };

/** A failure kind that `retry.on` may name besides status codes. */
export type RetryCondition = "network" | "timeout" | number;

/** Deadlines of one exchange (`timeouts`). */
export interface TimeoutPolicy {
  /** One attempt, from sending to response headers (connect included). */
  headersMs: number;
  /**
   * Longest silence inside a response body while the client waits for it
   * (a client that is not reading does not make the upstream idle).
   */
  idleMs: number;
  /**
   * Longest the client may take nothing while a chunk of its response is
   * ready (nginx's `send_timeout`); it is then taken as gone.
   */
  clientIdleMs: number;
  /** The whole exchange: all attempts, backoff and the body. */
  totalMs: number;
  /**
   * From response headers to the first body byte; the headers are held until
   * then, so a stall before it is still a failed attempt. `null`: off.
   */
  firstByteMs: number | null;
  /**
   * The slowest a body of known length may go where the runtime pipes it
   * natively (Deno): such a body must be sent within `idleMs` plus its
   * length at this rate. `null`: every body is relayed in JavaScript, with
   * the per-gap `idleMs` and `clientIdleMs`.
   */
  minBytesPerSecond: number | null;
}

/** Caps retries against the load a route is offered (`retry.budget`). */
export interface RetryBudgetPolicy {
  /** Retries allowed per request offered, over the sliding window. */
  ratio: number;
  /** Retries always allowed per second of window, whatever the load. */
  minPerSecond: number;
}

/** When and how a failed attempt is tried again (`retry`). */
export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  /** Backoff base: attempt n waits random(0, min(maxMs, baseMs·2ⁿ)). */
  baseMs: number;
  /** Longest backoff wait. */
  maxMs: number;
  /** Failures worth a retry: `"network"`, `"timeout"`, status codes. */
  on: RetryCondition[];
  /** A `Retry-After` up to this is waited out; a longer one sends the response back. */
  retryAfterCapMs: number;
  /** The retry budget. */
  budget: RetryBudgetPolicy;
  /** A request body up to this size is kept for replay; larger ones are sent once. */
  replayBufferBytes: number;
}

/** How requests spread over a route's upstreams (see `src/balance/`). */
export type BalancePolicy = "p2c" | "round_robin" | "failover";

/** Active health checks, probed by one instance of the fleet per interval. */
export interface HealthCheckPolicy {
  /** Path probed on each upstream (after its base path); 2xx/3xx passes. */
  path: string;
  /** How often each upstream is probed. */
  intervalMs: number;
  /** A probe slower than this failed. */
  timeoutMs: number;
  /** Failed probes in a row that make an upstream unhealthy. */
  unhealthyThreshold: number;
  /** Passed probes in a row that make it healthy again. */
  healthyThreshold: number;
}

/** Caps the exchanges in flight (`bulkhead`). */
export interface BulkheadPolicy {
  /** In-flight exchanges per route; `null` is unlimited. */
  maxConcurrent: number | null;
}

/** Cross-origin requests from browsers (`cors`). */
export interface CorsPolicy {
  /** Allowed origins; `["*"]` allows any. */
  origins: string[];
  /** Methods a preflight allows. */
  methods: string[];
  /** Request headers a preflight allows. */
  headers: string[];
  /** Response headers scripts may read. */
  exposeHeaders: string[];
  /** Whether cookies and credentials may be sent (never with `*`). */
  credentials: boolean;
  /** How long a browser may cache a preflight. */
  maxAgeSeconds: number;
}

/** Server-sent events (`sse`). */
export interface SsePolicy {
  /** Upstream silence after which a `:` comment is sent at an event boundary; `null`: off. */
  heartbeatMs: number | null;
}

/** A content coding the gateway can apply. */
export type Encoding = "br" | "gzip";

/** Response compression (`compression`). */
export interface CompressionPolicy {
  /** Codings offered, in the gateway's order of preference. */
  encodings: Encoding[];
  /** Bodies of a known length below this are sent as they are. */
  minBytes: number;
}

/** WebSocket proxying on a route (`websocket`). */
export interface WebSocketPolicy {
  /** Largest message relayed either way; a bigger one closes the socket with 1009. */
  maxMessageBytes: number;
  /** Silence both ways after which the socket is closed with 1001. */
  idleMs: number;
}

/** Everything a route does around its upstream call, after merging. */
export interface Policy {
  /** Deadlines. */
  timeouts: TimeoutPolicy;
  /** Retries. */
  retry: RetryPolicy;
  /** The circuit breaker of each upstream. */
  breaker: BreakerPolicy;
  /** Concurrency cap. */
  bulkhead: BulkheadPolicy;
  /** Largest request body; `null` is unlimited. */
  maxBodyBytes: number | null;
  /** CORS; `null` is off. */
  cors: CorsPolicy | null;
  /** Per-client rate limit; `null` is off. */
  rateLimit: RateLimitPolicy | null;
  /** How requests spread over the upstreams. */
  balance: BalancePolicy;
  /** Active health checks; `null` is off. */
  healthCheck: HealthCheckPolicy | null;
  /** Server-sent events. */
  sse: SsePolicy;
  /** Response compression; `null` when off (`compression: false`). */
  compression: CompressionPolicy | null;
  /** WebSocket proxying; `null` (`false` in config) treats upgrades as plain requests. */
  websocket: WebSocketPolicy | null;
}

/** A JWT signature algorithm the gateway verifies. */
export type JwtAlgorithm = "HS256" | "RS256" | "ES256";

/** JWT verification of a route (`auth.jwt`). */
export interface JwtAuth {
  /** Accepted algorithms; a token signed otherwise is refused. */
  algorithms: JwtAlgorithm[];
  /** HS256 shared secret (resolved from `secretEnv` at load). */
  secret: string | null;
  /** Inline JWKS (`{"keys": [...]}`) for RS256/ES256. */
  jwks: { keys: JsonWebKey[] } | null;
  /** Remote JWKS, fetched and cached. */
  jwksUrl: string | null;
  /** Required `iss`; `null` accepts any. */
  issuer: string | null;
  /** Required in `aud`; `null` accepts any. */
  audience: string | null;
  /** Allowed clock skew for `exp`/`nbf`. */
  leewaySeconds: number;
  /** Claim name → request header sent upstream, e.g. `{"sub": "x-user-id"}`. */
  forwardClaims: Record<string, string>;
}

/** Who may call a route (`auth`). */
export interface RouteAuth {
  /** API keys accepted (from config or the env variable), empty when none. */
  apiKeys: string[];
  /** JWT verification; `null` when the route takes API keys only. */
  jwt: JwtAuth | null;
}

/** Where an upstream is. */
export interface UpstreamAddress {
  /** The URL as configured, used as the metric/log label. */
  url: string;
  /** `protocol//host[:port]` */
  origin: string;
  /** Base path without a trailing slash ("" for none). */
  basePath: string;
}

/** One upstream of a route, parsed once at load. */
export interface Upstream extends UpstreamAddress {
  /** Relative share of traffic, 1–100. */
  weight: number;
  /** Takes traffic only while every primary upstream is out. */
  backup: boolean;
}

/** One route: where requests matching `path` go and how. */
export interface Route {
  /** Unique; the label in logs and metrics. */
  name: string;
  /** A Hono pattern such as `/api/users/*`. */
  path: string;
  /** Upper-case methods; `null` allows all. */
  methods: string[] | null;
  /** The upstreams, balanced as `policy.balance` says. */
  upstreams: Upstream[];
  /** Removed from the request path before the upstream's base path is put in front; "" for none. */
  stripPrefix: string;
  /** Who may call; `null` is anyone. */
  auth: RouteAuth | null;
  /** Built-in defaults, `defaults` and the route's `policy`, merged. */
  policy: Policy;
}

/** Which log lines are written (`log`). */
export interface LogSettings {
  /** Lines below this level are dropped (access lines excepted). */
  level: "debug" | "info" | "warn" | "error";
  /** Share of ordinary access lines written, 0..1 (status ≥ 500 or flagged lines always are). */
  sampleRate: number;
}

/** The whole validated configuration. */
export interface GatewayConfig {
  /** Admin bearer token; `null` turns admin endpoints off. */
  adminToken: string | null;
  /**
   * Bearer tokens `/_gateway/metrics` accepts (the metrics token and the
   * admin token); empty: the metrics are public. See `read_metrics.ts`.
   */
  metricsTokens: string[];
  /** CIDRs or addresses whose X-Forwarded-For/Forwarded are believed. */
  trustedProxies: string[];
  /** Logging. */
  log: LogSettings;
  /** Add `Server-Timing` to responses. */
  serverTiming: boolean;
  /** This gateway's pseudonym in `Via` (loop protection, see `http/via.ts`). */
  via: string;
  /** Matched in order; the first match wins. */
  routes: Route[];
}

/**
 * The gateway's configuration, as it is after validation and default merging.
 * Every field is present; optional features are `null` when off.
 *
 * The JSON users write (`gateway.json`) has the same shape with most fields
 * optional; see `validate_config.ts` for the rules and `defaults.ts` for the
 * built-in values.
 */

/** A failure kind that `retry.on` may name besides status codes. */
export type RetryCondition = "network" | "timeout" | number;

export interface TimeoutPolicy {
  /** One attempt, from sending to response headers (connect included). */
  headersMs: number;
  /** Longest silence inside a response body. */
  idleMs: number;
  /** The whole exchange: all attempts, backoff and the body. */
  totalMs: number;
  /**
   * From response headers to the first body byte; the headers are held until
   * then, so a stall before it is still a failed attempt. `null`: off.
   */
  firstByteMs: number | null;
}

export interface RetryBudgetPolicy {
  /** Retries allowed per request offered, over the sliding window. */
  ratio: number;
  /** Retries always allowed per second of window, whatever the load. */
  minPerSecond: number;
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  baseMs: number;
  maxMs: number;
  on: RetryCondition[];
  retryAfterCapMs: number;
  budget: RetryBudgetPolicy;
  replayBufferBytes: number;
}

export interface BreakerPolicy {
  window: "count" | "time";
  /** Calls (count window) or seconds (time window). */
  size: number;
  minCalls: number;
  failureRate: number;
  /** A call slower than this is slow; `null` turns slow-call detection off. */
  slowCallMs: number | null;
  slowCallRate: number;
  openMs: number;
  halfOpenProbes: number;
  /** Also opens after this many failures in a row, whatever the window. */
  consecutiveFailures: number;
  /** Each re-open after a failed probe doubles the open time, up to this. */
  maxOpenMs: number;
}

/** How requests spread over a route's upstreams (see `src/balance/`). */
export type BalancePolicy = "p2c" | "round_robin" | "failover";

/** Active health checks, probed by one instance of the fleet per interval. */
export interface HealthCheckPolicy {
  /** Path probed on each upstream (after its base path); 2xx/3xx passes. */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Failed probes in a row that make an upstream unhealthy. */
  unhealthyThreshold: number;
  /** Passed probes in a row that make it healthy again. */
  healthyThreshold: number;
}

export interface BulkheadPolicy {
  /** In-flight exchanges per route; `null` is unlimited. */
  maxConcurrent: number | null;
}

export interface CorsPolicy {
  /** Allowed origins; `["*"]` allows any. */
  origins: string[];
  methods: string[];
  headers: string[];
  exposeHeaders: string[];
  credentials: boolean;
  maxAgeSeconds: number;
}

export interface RateLimitPolicy {
  /** Requests allowed per client address per window. */
  requests: number;
  windowSeconds: number;
}

export interface SsePolicy {
  /** Upstream silence after which a `:` comment is sent at an event boundary; `null`: off. */
  heartbeatMs: number | null;
}

/** A content coding the gateway can apply. */
export type Encoding = "br" | "gzip";

export interface CompressionPolicy {
  /** Codings offered, in the gateway's order of preference. */
  encodings: Encoding[];
  /** Bodies of a known length below this are sent as they are. */
  minBytes: number;
}

export interface Policy {
  timeouts: TimeoutPolicy;
  retry: RetryPolicy;
  breaker: BreakerPolicy;
  bulkhead: BulkheadPolicy;
  /** Largest request body; `null` is unlimited. */
  maxBodyBytes: number | null;
  cors: CorsPolicy | null;
  rateLimit: RateLimitPolicy | null;
  balance: BalancePolicy;
  healthCheck: HealthCheckPolicy | null;
  sse: SsePolicy;
  /** `null` when off (`compression: false`). */
  compression: CompressionPolicy | null;
}

export type JwtAlgorithm = "HS256" | "RS256" | "ES256";

export interface JwtAuth {
  algorithms: JwtAlgorithm[];
  /** HS256 shared secret (resolved from `secretEnv` at load). */
  secret: string | null;
  /** Inline JWKS (`{"keys": [...]}`) for RS256/ES256. */
  jwks: { keys: JsonWebKey[] } | null;
  /** Remote JWKS, fetched and cached. */
  jwksUrl: string | null;
  issuer: string | null;
  audience: string | null;
  /** Allowed clock skew for `exp`/`nbf`. */
  leewaySeconds: number;
  /** Claim name → request header sent upstream, e.g. `{"sub": "x-user-id"}`. */
  forwardClaims: Record<string, string>;
}

export interface RouteAuth {
  /** API keys accepted (from config or the env variable), empty when none. */
  apiKeys: string[];
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

export interface Upstream extends UpstreamAddress {
  /** Relative share of traffic, 1–100. */
  weight: number;
  /** Takes traffic only while every primary upstream is out. */
  backup: boolean;
}

export interface Route {
  name: string;
  path: string;
  /** Upper-case methods; `null` allows all. */
  methods: string[] | null;
  upstreams: Upstream[];
  stripPrefix: string;
  auth: RouteAuth | null;
  policy: Policy;
}

export interface LogSettings {
  level: "debug" | "info" | "warn" | "error";
  /** Share of ordinary access lines written, 0..1 (status ≥ 500 or flagged lines always are). */
  sampleRate: number;
}

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
  log: LogSettings;
  /** Add `Server-Timing` to responses. */
  serverTiming: boolean;
  routes: Route[];
}

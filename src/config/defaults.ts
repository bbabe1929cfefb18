import type {
  CompressionPolicy,
  CorsPolicy,
  HealthCheckPolicy,
  Policy,
  RateLimitPolicy,
  WebSocketPolicy,
} from "./types.ts";

/** What a `compression` object gets for the fields it leaves out (and the default). */
export const COMPRESSION_DEFAULTS: CompressionPolicy = {
  encodings: ["br", "gzip"],
  minBytes: 1024,
};

/** What a `websocket` object gets for the fields it leaves out (and the default). */
export const WEBSOCKET_DEFAULTS: WebSocketPolicy = {
  maxMessageBytes: 1_048_576,
  idleMs: 300_000,
};

/** What a `rateLimit` object gets for the fields it leaves out. */
export const RATE_LIMIT_DEFAULTS: Pick<RateLimitPolicy, "scope"> = {
  scope: "instance",
};

/** Built-in policy: what a route gets when neither `defaults` nor its `policy` say otherwise. */
export const BUILT_IN_POLICY: Policy = {
  timeouts: {
    headersMs: 10_000,
    idleMs: 30_000,
    clientIdleMs: 60_000,
    totalMs: 120_000,
    firstByteMs: null,
    minBytesPerSecond: 16_384,
  },
  retry: {
    retries: 2,
    baseMs: 50,
    maxMs: 2_000,
    on: ["network", "timeout", 502, 503, 504],
    retryAfterCapMs: 5_000,
    budget: { ratio: 0.2, minPerSecond: 10 },
    replayBufferBytes: 65_536,
  },
  breaker: {
    window: "count",
    size: 20,
    minCalls: 10,
    failureRate: 0.5,
    slowCallMs: null,
    slowCallRate: 1,
    openMs: 30_000,
    halfOpenProbes: 1,
    consecutiveFailures: 5,
    maxOpenMs: 300_000,
  },
  bulkhead: { maxConcurrent: null },
  maxBodyBytes: null,
  cors: null,
  rateLimit: null,
  balance: "p2c",
  healthCheck: null,
  sse: { heartbeatMs: null },
  compression: COMPRESSION_DEFAULTS,
  websocket: WEBSOCKET_DEFAULTS,
};

/** What a `healthCheck` object gets for the fields it leaves out (`path` is required). */
export const HEALTH_CHECK_DEFAULTS: Omit<HealthCheckPolicy, "path"> = {
  intervalMs: 10_000,
  timeoutMs: 2_000,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
};

/** What a `cors` object gets for the fields it leaves out (`origins` is required). */
export const CORS_DEFAULTS: Omit<CorsPolicy, "origins"> = {
  methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  headers: ["content-type", "authorization", "x-api-key", "idempotency-key"],
  exposeHeaders: ["x-request-id", "x-gateway-attempts", "retry-after"],
  credentials: false,
  maxAgeSeconds: 600,
};

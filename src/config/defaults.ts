import type { CorsPolicy, Policy } from "./types.ts";

/** Built-in policy: what a route gets when neither `defaults` nor its `policy` say otherwise. */
export const BUILT_IN_POLICY: Policy = {
  timeouts: { headersMs: 10_000, idleMs: 30_000, totalMs: 120_000 },
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
  },
  bulkhead: { maxConcurrent: null },
  maxBodyBytes: null,
  cors: null,
  rateLimit: null,
};

/** What a `cors` object gets for the fields it leaves out (`origins` is required). */
export const CORS_DEFAULTS: Omit<CorsPolicy, "origins"> = {
  methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  headers: ["content-type", "authorization", "x-api-key", "idempotency-key"],
  exposeHeaders: ["x-request-id", "x-gateway-attempts", "retry-after"],
  credentials: false,
  maxAgeSeconds: 600,
};

import type { Route } from "../config/types.ts";
import type { GatewayMetrics } from "../observe/metrics.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";
import {
  type AuthResult,
  createAuthenticator,
  inboundAuthHeaders,
} from "../auth/authenticator.ts";
import { Bulkhead } from "../resilience/bulkhead.ts";
import type { Clock } from "../resilience/clock.ts";
import { RateLimiter } from "../resilience/rate_limiter.ts";
import { RetryBudget } from "../resilience/retry_budget.ts";
import { type Admitted, UpstreamPool } from "../balance/upstream_pool.ts";
import type { RetryRules } from "./retry_state.ts";

/**
 * A route compiled once at start-up: everything per-request code needs is a
 * field lookup away (no policy merging, parsing or allocation per request).
 */
export interface RouteRuntime {
  readonly route: Route;
  /** Upper-case allowed methods, `null` for all. */
  readonly methods: ReadonlySet<string> | null;
  /** `Allow` header value for 405s. */
  readonly allow: string;
  readonly authenticate: ((headers: Headers) => Promise<AuthResult>) | null;
  /** Request headers never forwarded: the credentials and claim headers auth owns. */
  readonly removedHeaders: ReadonlySet<string>;
  readonly bulkhead: Bulkhead;
  readonly budget: RetryBudget;
  readonly rateLimiter: RateLimiter | null;
  readonly retryRules: RetryRules<Admitted>;
  readonly pool: UpstreamPool;
}

export function compileRoute(
  route: Route,
  deps: {
    clock: Clock;
    fetch: typeof fetch;
    board: BreakerBoard;
    metrics: GatewayMetrics;
    random: () => number;
    onJwksFetchError?: (error: unknown) => void;
  },
): RouteRuntime {
  const { policy } = route;
  const on = policy.retry.on;
  const budget = new RetryBudget(policy.retry.budget, deps.clock);
  const pool = new UpstreamPool(route, deps);
  return {
    route,
    methods: route.methods === null ? null : new Set(route.methods),
    allow: route.methods === null ? "" : route.methods.join(", "),
    authenticate: route.auth === null ? null : createAuthenticator(route.auth, {
      fetch: deps.fetch,
      clock: deps.clock,
      onJwksFetchError: deps.onJwksFetchError,
    }),
    removedHeaders: new Set(
      route.auth === null ? [] : inboundAuthHeaders(route.auth),
    ),
    bulkhead: new Bulkhead(policy.bulkhead.maxConcurrent),
    budget,
    rateLimiter: policy.rateLimit === null
      ? null
      : new RateLimiter(policy.rateLimit, deps.clock),
    retryRules: {
      retry: policy.retry,
      retryOnNetwork: on.includes("network"),
      retryOnTimeout: on.includes("timeout"),
      retryStatuses: new Set(
        on.filter((c): c is number => typeof c === "number"),
      ),
      clock: deps.clock,
      random: deps.random,
      admit: async (_attempt, failed) => {
        const admission = await pool.admit(failed.index);
        return admission.allowed ? admission : null;
      },
      tryAcquireRetry: () => budget.tryAcquireRetry(),
      onBudgetDenied: () => deps.metrics.retryBudgetDenied(route.name),
    },
    pool,
  };
}

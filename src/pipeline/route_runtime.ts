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
import type { RateLimitPolicy } from "../config/types.ts";
import { FleetRateLimiter } from "../resilience/fleet_rate_limiter.ts";
import { type RateLimit, RateLimiter } from "../resilience/rate_limiter.ts";
import { RetryBudget } from "../resilience/retry_budget.ts";
import { type Admitted, UpstreamPool } from "../balance/upstream_pool.ts";
import type { RetryRules } from "./retry_state.ts";

/**
 * A route compiled once at start-up: everything per-request code needs is a
 * field lookup away (no policy merging, parsing or allocation per request).
 */
/** What `Allow` lists for a route that takes every method the gateway forwards. */
const EVERY_FORWARDED_METHOD = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
];

export interface RouteRuntime {
  readonly route: Route;
  /** Upper-case allowed methods, `null` for all. */
  readonly methods: ReadonlySet<string> | null;
  /** `Allow` header value for 405s and OPTIONS answers. */
  readonly allow: string;
  readonly authenticate: ((headers: Headers) => Promise<AuthResult>) | null;
  /** Request headers never forwarded: the credentials and claim headers auth owns. */
  readonly removedHeaders: ReadonlySet<string>;
  readonly bulkhead: Bulkhead;
  readonly budget: RetryBudget;
  readonly rateLimiter: RateLimit | null;
  readonly retryRules: RetryRules<Admitted>;
  readonly pool: UpstreamPool;
}

/**
 * A runtime's own fleet limit (Workers: the rate-limit binding), used
 * instead of the shared store's counter; `local` answers when it fails.
 */
export type FleetRateLimitFactory = (
  route: string,
  policy: RateLimitPolicy,
  local: RateLimit,
) => RateLimit;

/**
 * The route's limit: its own counter (`instance`), or one shared by the
 * fleet, with the local counter as the fallback while the store fails (and
 * the only one on a store without counters).
 */
function rateLimitOf(
  route: Route,
  deps: {
    clock: Clock;
    board: BreakerBoard;
    fleetRateLimit?: FleetRateLimitFactory;
  },
): RateLimit | null {
  const policy = route.policy.rateLimit;
  if (policy === null) return null;
  const local = new RateLimiter(policy, deps.clock);
  if (policy.scope === "instance") return local;
  if (deps.fleetRateLimit) {
    return deps.fleetRateLimit(route.name, policy, local);
  }
  const shared = deps.board.sharedCounter();
  if (shared === null) return local;
  return new FleetRateLimiter({
    name: route.name,
    policy,
    clock: deps.clock,
    local,
    ...shared,
  });
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
    fleetRateLimit?: FleetRateLimitFactory;
  },
): RouteRuntime {
  const { policy } = route;
  const on = policy.retry.on;
  const budget = new RetryBudget(policy.retry.budget, deps.clock);
  const pool = new UpstreamPool(route, deps);
  return {
    route,
    methods: route.methods === null ? null : new Set(route.methods),
    allow: (route.methods ?? EVERY_FORWARDED_METHOD).join(", "),
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
    rateLimiter: rateLimitOf(route, deps),
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

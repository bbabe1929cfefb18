import { parseConfig } from "../../config/load_config.ts";
import {
  createGateway,
  type Gateway,
  type GatewayOptions,
} from "../../gateway.ts";
import {
  type BreakerObjectNamespace,
  DurableBreakerStore,
} from "./durable_breaker_store.ts";
import {
  WorkersKvBreakerStore,
  type WorkersKvNamespace,
} from "./kv_breaker_store.ts";
import {
  type AnalyticsEngineDataset,
  analyticsWriter,
} from "./analytics_engine.ts";
import { fetchKeepingEncoding } from "./body_as_is.ts";
import { workersWebSocketRuntime } from "./websocket.ts";
import {
  bindingRateLimits,
  type RateLimitBinding,
} from "./rate_limit_binding.ts";

/**
 * The gateway on Cloudflare Workers: built once per isolate from the Worker's
 * bindings, with breaker state shared through a Durable Object or Workers KV.
 *
 * @module
 */

/** The bindings and variables `wrangler.toml` declares. */
export interface WorkerEnv {
  /** The whole config as JSON text; empty or absent: the bundled config. */
  GATEWAY_CONFIG?: string;
  /** Breaker state shared exactly by every isolate (see durable_breaker_store.ts); preferred. */
  GATEWAY_BREAKERS?: BreakerObjectNamespace;
  /** Breaker hints shared by every isolate (see kv_breaker_store.ts); used without GATEWAY_BREAKERS. */
  GATEWAY_KV?: WorkersKvNamespace;
  /** Request metrics from every isolate, one data point per exchange (see analytics_engine.ts). */
  GATEWAY_ANALYTICS?: AnalyticsEngineDataset;
  /** Fleet rate limits next to each isolate (see rate_limit_binding.ts); without it, in GATEWAY_BREAKERS. */
  GATEWAY_RATE_LIMITER?: RateLimitBinding;
  /** Other string variables and secrets, read by the config's `*Env` names. */
  readonly [name: string]: unknown;
}

/** The part of the Workers `ExecutionContext` the gateway uses. */
export interface WorkerContext {
  /** Keeps the isolate alive until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
}

/** The gateway this isolate serves with, or why there is none. */
export type WorkerGateway =
  | { ok: true; gateway: Gateway }
  | { ok: false; errors: string[] };

let current:
  | {
    configText: string;
    breakers: unknown;
    kv: unknown;
    rateLimiter: unknown;
    analytics: unknown;
    built: WorkerGateway;
  }
  | undefined;

/**
 * The context of the request being handled, for background work the gateway
 * starts outside any one request's call (held breaker-store writes): each
 * request's context keeps the isolate alive until that work is done.
 */
let latestContext: WorkerContext | undefined;

/**
 * The gateway for `env`, built on first use and kept for the isolate's life
 * (breaker state, metrics and the JWKS cache live in it). The config is the
 * `GATEWAY_CONFIG` variable, or `bundledConfig` (the parsed gateway.json
 * bundled with the Worker) when that is empty. A different config text,
 * breaker or analytics binding (another environment in the same isolate)
 * rebuilds it. An invalid config is logged once, as one JSON line listing
 * every error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gatewayFor } from "./gateway_for_env.ts";
 * const config = { routes: [{ name: "a", path: "/a/*", upstreams: ["http://127.0.0.1:9"] }] };
 * const built = gatewayFor({}, { waitUntil() {} }, config);
 * assert.ok(built.ok);
 * const response = await built.gateway.fetch(new Request("http://gw.test/elsewhere"));
 * await response.body?.cancel();
 * assert.equal(response.status, 404);
 * ```
 */
export function gatewayFor(
  env: WorkerEnv,
  ctx: WorkerContext,
  bundledConfig: unknown,
): WorkerGateway {
  latestContext = ctx;
  const configText = env.GATEWAY_CONFIG || JSON.stringify(bundledConfig);
  if (
    current?.configText === configText &&
    current.breakers === env.GATEWAY_BREAKERS &&
    current.kv === env.GATEWAY_KV &&
    current.analytics === env.GATEWAY_ANALYTICS &&
    current.rateLimiter === env.GATEWAY_RATE_LIMITER
  ) {
    return current.built;
  }
  const built = build(configText, env);
  current = {
    configText,
    breakers: env.GATEWAY_BREAKERS,
    kv: env.GATEWAY_KV,
    analytics: env.GATEWAY_ANALYTICS,
    rateLimiter: env.GATEWAY_RATE_LIMITER,
    built,
  };
  return built;
}

function build(configText: string, env: WorkerEnv): WorkerGateway {
  const parsed = parseConfig(configText, (name) => {
    const value = env[name];
    return typeof value === "string" ? value : undefined;
  });
  if (!parsed.ok) {
    console.error(JSON.stringify({
      level: "error",
      msg: "invalid config: answering every request with 500",
      errors: parsed.errors,
    }));
    return { ok: false, errors: parsed.errors };
  }
  const gateway = createGateway({
    config: parsed.config,
    ...breakerSharingFor(env),
    fetch: fetchKeepingEncoding,
    websocketRuntime: workersWebSocketRuntime,
    logSink: (line) => console.log(line),
    waitUntil: keepAlive,
    // Isolates keep no timers between requests: the Cron Trigger probes.
    healthChecks: "manual",
    onExchange: env.GATEWAY_ANALYTICS && analyticsWriter(env.GATEWAY_ANALYTICS),
    fleetRateLimit: env.GATEWAY_RATE_LIMITER &&
      bindingRateLimits(env.GATEWAY_RATE_LIMITER),
  });
  return { ok: true, gateway };
}

/**
 * Where breaker state is shared: the Durable Object when bound (exact), else
 * Workers KV (advisory), else nowhere (each isolate on its own: a
 * wrangler.toml without either binding still runs).
 */
function breakerSharingFor(
  env: WorkerEnv,
): Pick<GatewayOptions, "breakerStore" | "breakerSync"> {
  if (env.GATEWAY_BREAKERS !== undefined) {
    return {
      breakerStore: new DurableBreakerStore(env.GATEWAY_BREAKERS),
      breakerSync: {
        // One object serves every isolate (about a thousand calls a second
        // at most): one background sync per isolate per second, and an open
        // still reaches every busy isolate within about a second.
        syncIntervalMs: 1000,
        // Isolates far from the object's location need a long round trip;
        // only half-open admissions wait on it.
        storeTimeoutMs: 1000,
      },
    };
  }
  if (env.GATEWAY_KV !== undefined) {
    return { breakerStore: new WorkersKvBreakerStore(env.GATEWAY_KV) };
  }
  return {};
}

function keepAlive(promise: Promise<unknown>): void {
  try {
    latestContext?.waitUntil(promise);
  } catch {
    // that request is long over; the work still runs while the isolate does
  }
}

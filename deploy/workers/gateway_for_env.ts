import bundledConfig from "../../gateway.json" with { type: "json" };
import { parseConfig } from "../../src/config/load_config.ts";
import { createGateway, type Gateway } from "../../src/gateway.ts";
import {
  WorkersKvBreakerStore,
  type WorkersKvNamespace,
} from "../../src/runtime/workers/kv_breaker_store.ts";
import { fetchKeepingEncoding } from "./body_as_is.ts";

/** The bindings and variables `wrangler.toml` declares. */
export interface WorkerEnv {
  /** The whole config as JSON text; empty or absent: the bundled gateway.json. */
  GATEWAY_CONFIG?: string;
  /** Breaker hints shared by every isolate (see kv_breaker_store.ts). */
  GATEWAY_KV?: WorkersKvNamespace;
  /** Other string variables and secrets, read by the config's `*Env` names. */
  readonly [name: string]: unknown;
}

/** The part of the Workers `ExecutionContext` the gateway uses. */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The gateway this isolate serves with, or why there is none. */
export type WorkerGateway =
  | { ok: true; gateway: Gateway }
  | { ok: false; errors: string[] };

let current:
  | { configText: string; kv: unknown; built: WorkerGateway }
  | undefined;

/**
 * The context of the request being handled, for background work the gateway
 * starts outside any one request's call (held breaker-store writes): each
 * request's context keeps the isolate alive until that work is done.
 */
let latestContext: WorkerContext | undefined;

/**
 * The gateway for `env`, built on first use and kept for the isolate's life
 * (breaker state, metrics and the JWKS cache live in it). A different config
 * text or KV binding (another environment in the same isolate) rebuilds it.
 * An invalid config is logged once, as one JSON line listing every error.
 *
 * @example
 * ```ts ignore
 * const built = gatewayFor(env, ctx);
 * if (built.ok) return built.gateway.fetch(request);
 * ```
 */
export function gatewayFor(env: WorkerEnv, ctx: WorkerContext): WorkerGateway {
  latestContext = ctx;
  const configText = env.GATEWAY_CONFIG || JSON.stringify(bundledConfig);
  if (current?.configText === configText && current.kv === env.GATEWAY_KV) {
    return current.built;
  }
  const built = build(configText, env);
  current = { configText, kv: env.GATEWAY_KV, built };
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
    // Without the binding (a wrangler.toml without it) the gateway still
    // runs, with breaker state local to each isolate.
    breakerStore: env.GATEWAY_KV === undefined
      ? undefined
      : new WorkersKvBreakerStore(env.GATEWAY_KV),
    fetch: fetchKeepingEncoding,
    logSink: (line) => console.log(line),
    waitUntil: keepAlive,
  });
  return { ok: true, gateway };
}

function keepAlive(promise: Promise<unknown>): void {
  try {
    latestContext?.waitUntil(promise);
  } catch {
    // that request is long over; the work still runs while the isolate does
  }
}

import bundledConfig from "../../gateway.json" with { type: "json" };
import { fetchKeepingEncoding } from "./body_as_is.ts";
import { parseConfig } from "../../src/config/load_config.ts";
import { createGateway, type Gateway } from "../../src/gateway.ts";

/** The bindings and variables `wrangler.toml` declares. */
export interface WorkerEnv {
  /** The whole config as JSON text; empty or absent: the bundled gateway.json. */
  GATEWAY_CONFIG?: string;
  /**
   * Breaker hints shared by every isolate. Not read yet: the gateway keeps
   * breaker state per isolate until src/runtime/workers/kv_breaker_store.ts
   * lands and is wired here.
   */
  GATEWAY_KV?: unknown;
  /** Other string variables and secrets, read by the config's `*Env` names. */
  readonly [name: string]: unknown;
}

/** The gateway this isolate serves with, or why there is none. */
export type WorkerGateway =
  | { ok: true; gateway: Gateway }
  | { ok: false; errors: string[] };

let current:
  | { configText: string; kv: unknown; built: WorkerGateway }
  | undefined;

/**
 * The gateway for `env`, built on first use and kept for the isolate's life
 * (breaker state, metrics and the JWKS cache live in it). A different config
 * text or KV binding (another environment in the same isolate) rebuilds it.
 * An invalid config is logged once, as one JSON line listing every error.
 *
 * @example
 * ```ts ignore
 * const built = gatewayFor(env);
 * if (built.ok) return built.gateway.fetch(request);
 * ```
 */
export function gatewayFor(env: WorkerEnv): WorkerGateway {
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
    // Without the binding (a misconfigured wrangler.toml) the gateway still
    // runs, with breaker state local to this isolate.

    logSink: (line) => console.log(line),
    fetch: fetchKeepingEncoding,
  });
  return { ok: true, gateway };
}

import { parseConfig } from "../../config/load_config.ts";
import type { GatewayConfig } from "../../config/types.ts";
import { serveGateway, type ServingGateway } from "./serve_gateway.ts";
import type { GatewayOptions } from "../../gateway.ts";
import { DenoKvBreakerStore, openKv } from "./kv_breaker_store.ts";
import { otelTraceContinuer } from "./otel.ts";

/** The process settings read from the environment (see the README). */
export interface StartSettings {
  configPath: string;
  config: GatewayConfig;
  port: number;
  hostname: string;
  drainMs: number;
  kvPath: string | undefined;
}

/**
 * Reads `GATEWAY_CONFIG`, `PORT`, `HOSTNAME`, `GATEWAY_DRAIN_MS` and
 * `GATEWAY_KV_PATH`, and validates everything; returns every problem found,
 * one `name: what is wrong` line each.
 */
export async function readSettings(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<
  { ok: true; settings: StartSettings } | { ok: false; errors: string[] }
> {
  const errors: string[] = [];
  const configPath = env("GATEWAY_CONFIG") ?? "./gateway.json";
  let config: GatewayConfig | undefined;
  try {
    const result = parseConfig(await Deno.readTextFile(configPath), env);
    if (result.ok) config = result.config;
    else errors.push(...result.errors);
  } catch (error) {
    errors.push(
      `GATEWAY_CONFIG: cannot read ${configPath}: ${(error as Error).message}`,
    );
  }
  const port = integerSetting(env, "PORT", 8000, 0, 65_535, errors);
  const drainMs = integerSetting(
    env,
    "GATEWAY_DRAIN_MS",
    30_000,
    0,
    3_600_000,
    errors,
  );
  if (errors.length > 0 || config === undefined) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      configPath,
      config,
      port,
      hostname: env("HOSTNAME") || "0.0.0.0",
      drainMs,
      kvPath: env("GATEWAY_KV_PATH") || undefined,
    },
  };
}

function integerSetting(
  env: (name: string) => string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    errors.push(
      `${name}: must be an integer from ${min} to ${max}, got "${raw}"`,
    );
    return fallback;
  }
  return value;
}

/** What both Deno entries build the gateway from. */
export interface DenoSetup {
  settings: StartSettings;
  kv: Deno.Kv;
  /** Gateway options for this runtime: Deno KV breaker store, sync, tracing. */
  gatewayOptions: Omit<GatewayOptions, "config">;
}

/**
 * Reads and checks the settings and opens Deno KV; an invalid setup prints
 * every problem and exits 1 before any port opens.
 */
export async function setupFromEnv(): Promise<DenoSetup> {
  const result = await readSettings();
  if (!result.ok) {
    console.error("gateway: cannot start, the configuration is invalid:");
    for (const error of result.errors) console.error(`  ${error}`);
    Deno.exit(1);
  }
  const { settings } = result;
  let kv: Deno.Kv;
  try {
    kv = await openKv(settings.kvPath);
  } catch (error) {
    // A wrong path is a setup mistake: say so before any port opens.
    console.error("gateway: cannot start, the breaker store cannot be opened:");
    console.error(
      `  GATEWAY_KV_PATH: cannot open ${settings.kvPath ?? "(default)"}: ${
        (error as Error).message
      }`,
    );
    Deno.exit(1);
  }
  return {
    settings,
    kv,
    gatewayOptions: {
      breakerStore: new DenoKvBreakerStore(kv),
      // Pull other instances' transitions every 250 ms even without traffic.
      breakerSync: { autoSync: true, syncIntervalMs: 250 },
      // With OTEL_DENO=true, Deno's fetch injects the trace context itself.
      continueTrace: otelTraceContinuer(),
    },
  };
}

/**
 * Starts the gateway as `deno task start` and Deno Deploy run it: settings
 * from the environment, breaker state in Deno KV, SIGTERM/SIGINT drained
 * (unless `handleSignals` is false: `deno task dev` leaves Ctrl-C to stop
 * the file watcher at once).
 */
export async function startFromEnv(
  { handleSignals = true }: { handleSignals?: boolean } = {},
): Promise<ServingGateway> {
  const { settings, kv, gatewayOptions } = await setupFromEnv();
  const serving = serveGateway({
    ...gatewayOptions,
    config: settings.config,
    port: settings.port,
    hostname: settings.hostname,
    drainMs: settings.drainMs,
    handleSignals,
    listenFields: {
      config: settings.configPath,
      routes: settings.config.routes.length,
    },
  });
  serving.stopped.then(() => kv.close());
  return serving;
}

import { parseConfig } from "../../config/load_config.ts";
import type { GatewayConfig } from "../../config/types.ts";
import { serveGateway, type ServingGateway } from "./serve_gateway.ts";
import type { GatewayOptions } from "../../gateway.ts";
import {
  openSharedStore,
  type SharedStore,
  type StoreSetting,
  storeSetting,
} from "./shared_store.ts";
import { systemClock } from "../../resilience/clock.ts";
import { otelTraceContinuer } from "./otel.ts";
import { type OtelMetricsExport, otelMetricsExport } from "./otel_metrics.ts";
import { startConfigReloader } from "./config_reload.ts";
import { readConfigSource } from "./config_source.ts";

/** The process settings read from the environment (see the README). */
export interface StartSettings {
  /** `GATEWAY_CONFIG`: where the config was read from. */
  configPath: string;
  /** The text `config` was read from (a reload of the same text is none). */
  configText: string;
  /** The validated config. */
  config: GatewayConfig;
  /** `GATEWAY_CONFIG_WATCH`: reload when the config's directory changes (Kubernetes ConfigMap). */
  watchConfig: boolean;
  /** `PORT`. */
  port: number;
  /** `HOSTNAME`. */
  hostname: string;
  /** `GATEWAY_DRAIN_MS`. */
  drainMs: number;
  /** `GATEWAY_KV_PATH`; `undefined`: the platform default. */
  kvPath: string | undefined;
  /** `GATEWAY_STORE` (Redis) or, unset, the Deno KV at `GATEWAY_KV_PATH`. */
  store: StoreSetting;
  /** PEM cert and key from `GATEWAY_TLS_CERT`/`GATEWAY_TLS_KEY`; null: plain HTTP. */
  tls: { cert: string; key: string } | null;
}

/**
 * Reads `GATEWAY_CONFIG` (see `config_source.ts`: outside `allowDemo`, the
 * demo config is refused), `GATEWAY_CONFIG_WATCH`, `PORT`, `HOSTNAME`, `GATEWAY_DRAIN_MS`,
 * `GATEWAY_KV_PATH`, `GATEWAY_STORE`, `GATEWAY_TLS_CERT` and `GATEWAY_TLS_KEY`, and validates
 * everything; returns every problem found, one `name: what is wrong` line
 * each.
 */
export async function readSettings(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
  { allowDemo = false }: { allowDemo?: boolean } = {},
): Promise<
  | { ok: true; settings: StartSettings }
  | { ok: false; errors: string[]; noConfig?: true }
> {
  const errors: string[] = [];
  const source = await readConfigSource(env, { allowDemo });
  // Without a config to read there is nothing else worth reporting.
  if (!source.ok) return { ok: false, errors: [source.error], noConfig: true };
  let config: GatewayConfig | undefined;
  const result = parseConfig(source.text, env);
  if (result.ok) config = result.config;
  else errors.push(...result.errors);
  const watchConfig = booleanSetting(env, "GATEWAY_CONFIG_WATCH", errors);
  const port = integerSetting(env, "PORT", 8000, 0, 65_535, errors);
  const drainMs = integerSetting(
    env,
    "GATEWAY_DRAIN_MS",
    30_000,
    0,
    3_600_000,
    errors,
  );
  const tls = await tlsSetting(env, errors);
  const store = storeSetting(env, errors);
  if (errors.length > 0 || config === undefined) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      configPath: source.path,
      configText: source.text,
      config,
      watchConfig,
      port,
      hostname: env("HOSTNAME") || "0.0.0.0",
      drainMs,
      kvPath: env("GATEWAY_KV_PATH") || undefined,
      store,
      tls,
    },
  };
}

function booleanSetting(
  env: (name: string) => string | undefined,
  name: string,
  errors: string[],
): boolean {
  const raw = env(name) ?? "";
  if (raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  errors.push(`${name}: must be true, false, 1 or 0, got "${raw}"`);
  return false;
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

/**
 * The PEM files named by `GATEWAY_TLS_CERT` and `GATEWAY_TLS_KEY`: both or
 * neither (half a pair is a mistake, not a wish for plain HTTP).
 */
async function tlsSetting(
  env: (name: string) => string | undefined,
  errors: string[],
): Promise<{ cert: string; key: string } | null> {
  const certPath = env("GATEWAY_TLS_CERT") || undefined;
  const keyPath = env("GATEWAY_TLS_KEY") || undefined;
  if (certPath === undefined && keyPath === undefined) return null;
  if (keyPath === undefined) {
    errors.push("GATEWAY_TLS_KEY: required with GATEWAY_TLS_CERT");
    return null;
  }
  if (certPath === undefined) {
    errors.push("GATEWAY_TLS_CERT: required with GATEWAY_TLS_KEY");
    return null;
  }
  const cert = await pemFile(
    "GATEWAY_TLS_CERT",
    certPath,
    /-----BEGIN CERTIFICATE-----/,
    "certificate",
    errors,
  );
  const key = await pemFile(
    "GATEWAY_TLS_KEY",
    keyPath,
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
    "private key",
    errors,
  );
  return cert === undefined || key === undefined ? null : { cert, key };
}

/**
 * A PEM file's text, checked for its block here: otherwise `Deno.serve`
 * throws on a wrong file with a stack trace instead of a setup line.
 */
async function pemFile(
  name: string,
  path: string,
  block: RegExp,
  what: string,
  errors: string[],
): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    errors.push(`${name}: cannot read ${path}: ${(error as Error).message}`);
    return undefined;
  }
  if (!block.test(text)) {
    errors.push(`${name}: ${path} holds no PEM ${what}`);
    return undefined;
  }
  return text;
}

/** What both Deno entries build the gateway from. */
export interface DenoSetup {
  /** The settings read. */
  settings: StartSettings;
  /** Where fleet state lives (Deno KV or Redis); closed by its owner on stop. */
  store: SharedStore;
  /** Gateway options for this runtime: the shared store, sync, tracing. */
  gatewayOptions: Omit<GatewayOptions, "config">;
  /** The gateway's metrics over OTLP when `OTEL_DENO=true`: call `observe` once the gateway exists. */
  otelMetrics: OtelMetricsExport | undefined;
}

/**
 * Reads and checks the settings and opens Deno KV; an invalid setup prints
 * every problem and exits 1 before any port opens.
 */
export async function setupFromEnv(
  options: { allowDemo?: boolean } = {},
): Promise<DenoSetup> {
  const result = await readSettings(undefined, options);
  if (!result.ok && result.noConfig) {
    // Nothing to validate: one line says what to set.
    console.error(`gateway: cannot start: ${result.errors[0]}`);
    Deno.exit(1);
  }
  if (!result.ok) {
    console.error("gateway: cannot start, the configuration is invalid:");
    for (const error of result.errors) console.error(`  ${error}`);
    Deno.exit(1);
  }
  const { settings } = result;
  let store: SharedStore;
  try {
    store = await openSharedStore(settings.store, systemClock);
  } catch (error) {
    // A wrong KV path is a setup mistake: say so before any port opens.
    console.error("gateway: cannot start, the breaker store cannot be opened:");
    console.error(
      `  GATEWAY_KV_PATH: cannot open ${settings.kvPath ?? "(default)"}: ${
        (error as Error).message
      }`,
    );
    Deno.exit(1);
  }
  const otelMetrics = otelMetricsExport();
  return {
    settings,
    store,
    otelMetrics,
    gatewayOptions: {
      onExchange: otelMetrics?.recordExchange,
      breakerStore: store.store,
      // Pull other instances' transitions every 250 ms even without traffic.
      breakerSync: { autoSync: true, syncIntervalMs: 250 },
      // With OTEL_DENO=true, Deno's fetch injects the trace context itself.
      continueTrace: otelTraceContinuer(),
    },
  };
}

/**
 * Starts the gateway as `deno task start` and Deno Deploy run it: settings
 * from the environment, fleet state in Deno KV or Redis, SIGTERM/SIGINT drained
 * (unless `handleSignals` is false: `deno task dev` leaves Ctrl-C to stop
 * the file watcher at once).
 */
export async function startFromEnv(
  { handleSignals = true, allowDemo = false }: {
    handleSignals?: boolean;
    allowDemo?: boolean;
  } = {},
): Promise<ServingGateway> {
  const { settings, store, gatewayOptions, otelMetrics } = await setupFromEnv({
    allowDemo,
  });
  const serving = serveGateway({
    ...gatewayOptions,
    config: settings.config,
    port: settings.port,
    hostname: settings.hostname,
    drainMs: settings.drainMs,
    tls: settings.tls ?? undefined,
    handleSignals,
    listenFields: {
      config: settings.configPath,
      routes: settings.config.routes.length,
      store: store.description,
    },
  });
  otelMetrics?.observe(() => serving.gateway.renderMetrics());
  // SIGHUP (and, when asked, the config directory) reloads the config.
  const reloader = startConfigReloader({
    gateway: serving.gateway,
    path: settings.configPath,
    loadedText: settings.configText,
    watch: settings.watchConfig,
    handleSignal: handleSignals,
  });
  serving.stopped.then(() => {
    reloader.close();
    return store.close();
  });
  return serving;
}

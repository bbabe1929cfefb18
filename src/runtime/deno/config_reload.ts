/**
 * Config reload without a restart on Deno: `SIGHUP`, and optionally a watch
 * of the config's directory (Kubernetes updates a mounted ConfigMap by
 * swapping the `..data` symlink inside the mount, so the file itself never
 * sees a write event: the directory is what changes).
 *
 * Each trigger re-reads `GATEWAY_CONFIG` and validates it like start-up
 * does. A valid config is swapped in (`Gateway.reload`); an invalid one is
 * refused with every problem logged and the running config kept. Unchanged
 * text is no reload (a ConfigMap swap fires several events).
 *
 * @module
 */

import { parseConfig } from "../../config/load_config.ts";
import type { EnvLookup } from "../../config/validate_config.ts";
import type { Gateway } from "../../gateway.ts";
import {
  type CancelTimer,
  type Clock,
  systemClock,
} from "../../resilience/clock.ts";

/** Events within this long of each other are one change (a ConfigMap swap is several). */
const SETTLE_MS = 100;

export interface ConfigReloaderOptions {
  gateway: Gateway;
  /** The config file (`GATEWAY_CONFIG`). */
  path: string;
  /** The text the running config came from: the same text again is no reload. */
  loadedText: string;
  /** Also watch the config's directory (`GATEWAY_CONFIG_WATCH`). */
  watch: boolean;
  /** Listen for SIGHUP (not on Windows, which has none). */
  handleSignal?: boolean;
  env?: EnvLookup;
  clock?: Clock;
}

/** What one reload did. */
export type ReloadOutcome = "reloaded" | "unchanged" | "refused";

export interface ConfigReloader {
  /** Re-reads and applies the config now (what SIGHUP does). */
  reload(trigger?: string): Promise<ReloadOutcome>;
  /** Stops listening and watching. */
  close(): void;
}

/**
 * Starts reloading the gateway's config on SIGHUP (and directory changes
 * when `watch`). Reloads run one at a time; triggers during one are
 * folded into one more run after it.
 */
export function startConfigReloader(
  options: ConfigReloaderOptions,
): ConfigReloader {
  const { gateway, path } = options;
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const clock = options.clock ?? systemClock;
  let loadedText = options.loadedText;
  let running: Promise<ReloadOutcome> | null = null;
  let again: Promise<ReloadOutcome> | null = null;

  async function apply(trigger: string): Promise<ReloadOutcome> {
    const { logger, metrics } = gateway;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      return refuse(trigger, [
        `GATEWAY_CONFIG: cannot read ${path}: ${(error as Error).message}`,
      ]);
    }
    if (text === loadedText) {
      logger.info("config unchanged; nothing to reload", {
        config: path,
        trigger,
      });
      return "unchanged";
    }
    const result = parseConfig(text, env);
    if (!result.ok) return refuse(trigger, result.errors);
    gateway.reload(result.config);
    loadedText = text;
    metrics.configReload(true);
    logger.info("config reloaded", {
      config: path,
      trigger,
      routes: result.config.routes.length,
    });
    return "reloaded";
  }

  function refuse(trigger: string, errors: string[]): ReloadOutcome {
    gateway.metrics.configReload(false);
    gateway.logger.error("config reload refused; the running config stays", {
      config: path,
      trigger,
      errors,
    });
    return "refused";
  }

  function reload(trigger = "request"): Promise<ReloadOutcome> {
    if (running === null) {
      running = apply(trigger).finally(() => running = null);
      return running;
    }
    // A change during a reload may not be in what it read: read once more.
    again ??= running.then(() => {
      again = null;
      return reload(trigger);
    });
    return again;
  }

  const onHangup = () => void reload("SIGHUP");
  const handleSignal = (options.handleSignal ?? true) &&
    Deno.build.os !== "windows";
  if (handleSignal) Deno.addSignalListener("SIGHUP", onHangup);

  let watcher: Deno.FsWatcher | null = null;
  let settle: CancelTimer | null = null;
  if (options.watch) {
    const slash = path.lastIndexOf("/");
    const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : path.slice(0, slash);
    const name = path.slice(slash + 1);
    watcher = Deno.watchFs(dir, { recursive: false });
    void (async () => {
      for await (const event of watcher!) {
        if (!event.paths.some((changed) => concernsConfig(changed, name))) {
          continue;
        }
        settle?.();
        settle = clock.setTimeout(() => {
          settle = null;
          void reload("watch");
        }, SETTLE_MS);
      }
    })();
  }

  return {
    reload,
    close() {
      if (handleSignal) Deno.removeSignalListener("SIGHUP", onHangup);
      settle?.();
      watcher?.close();
    },
  };
}

/** The config file itself, or the ConfigMap's `..data` swap next to it. */
function concernsConfig(changed: string, name: string): boolean {
  const base = changed.slice(changed.lastIndexOf("/") + 1);
  return base === name || base.startsWith("..data");
}

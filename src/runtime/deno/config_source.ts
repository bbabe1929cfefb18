/**
 * Where the Deno gateway's config comes from: `GATEWAY_CONFIG`, else
 * `./gateway.json` — but in production (`deno task start`, `deno serve`,
 * Deno Deploy: every entry except `deno task dev`) not the shipped demo
 * config. Its upstreams are the dev demo origin on 127.0.0.1:8001, which
 * `start` does not run: started anyway, every request would fail as a 502.
 * So production without `GATEWAY_CONFIG` needs a `./gateway.json` of the
 * operator's own, and says so in one line when there is none.
 *
 * @module
 */

import { DEMO_ORIGIN, isDemoConfig } from "../../config/demo_config.ts";

export const DEFAULT_CONFIG_PATH = "./gateway.json";

/** The config text and its path, or the one line that says what to set. */
export type ConfigSource =
  | { ok: true; path: string; text: string }
  | { ok: false; error: string };

/**
 * Reads the config named by `GATEWAY_CONFIG` (any read error is reported
 * with the path by the caller's validation), or `./gateway.json` unless it
 * is missing or, in production, the demo config.
 */
export async function readConfigSource(
  env: (name: string) => string | undefined,
  { allowDemo }: { allowDemo: boolean },
): Promise<ConfigSource> {
  const named = env("GATEWAY_CONFIG");
  const path = named || DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!named && error instanceof Deno.errors.NotFound) {
      return {
        ok: false,
        error:
          `GATEWAY_CONFIG is not set and there is no ${DEFAULT_CONFIG_PATH}: set GATEWAY_CONFIG=/path/to/gateway.json (see docs/operations.md)`,
      };
    }
    return {
      ok: false,
      error: `GATEWAY_CONFIG: cannot read ${path}: ${(error as Error).message}`,
    };
  }
  if (!named && !allowDemo && isDemoConfig(text)) {
    return {
      ok: false,
      error:
        `GATEWAY_CONFIG is not set and ${DEFAULT_CONFIG_PATH} is the demo config (every upstream is the dev demo origin ${DEMO_ORIGIN}): set GATEWAY_CONFIG=/path/to/your/gateway.json, or run \`deno task dev\` for the demo`,
    };
  }
  return { ok: true, path, text };
}

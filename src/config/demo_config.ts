/**
 * The shipped `gateway.json` is a demo: its routes lead to the demo origin
 * that `deno task dev` and `deno task dev:workers` run on 127.0.0.1:8001.
 * Production entries (`deno task start`, `deno task deploy:workers`) refuse
 * it rather than serve 502s from a config nobody chose.
 *
 * @module
 */

/** The address the dev tasks serve the demo origin on. */
export const DEMO_ORIGIN = "http://127.0.0.1:8001";

/**
 * Whether config text is the shipped demo's: every upstream points at the
 * demo origin. Text that is no JSON is not the demo (validation reports it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDemoConfig } from "./demo_config.ts";
 * assert.equal(isDemoConfig('{"routes":[{"upstreams":["http://127.0.0.1:8001"]}]}'), true);
 * assert.equal(isDemoConfig('{"routes":[{"upstreams":["http://10.0.0.5:8080"]}]}'), false);
 * ```
 */
export function isDemoConfig(text: string): boolean {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return false;
  }
  const routes = (raw as { routes?: unknown })?.routes;
  if (!Array.isArray(routes) || routes.length === 0) return false;
  return routes.every((route) => {
    const upstreams = (route as { upstreams?: unknown })?.upstreams;
    return Array.isArray(upstreams) && upstreams.length > 0 &&
      upstreams.every((upstream) => {
        const url = typeof upstream === "string"
          ? upstream
          : (upstream as { url?: unknown })?.url;
        return typeof url === "string" && url.startsWith(DEMO_ORIGIN);
      });
  });
}

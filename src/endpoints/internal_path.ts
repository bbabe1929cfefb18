import type { InternalEndpoint } from "../observe/metrics.ts";

const INTERNAL_PREFIX = "/_gateway/";

/** Whether a request path is one of the gateway's own (`/_gateway/…`, never routed). */
export function isInternalPath(path: string): boolean {
  return path.startsWith(INTERNAL_PREFIX);
}

/**
 * Which of the gateway's own endpoints a `/_gateway/…` path is, as
 * `gateway_internal_requests_total` labels it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { internalEndpoint } from "./internal_path.ts";
 * assert.equal(internalEndpoint("/_gateway/health/ready"), "health");
 * assert.equal(internalEndpoint("/_gateway/breakers/open"), "admin");
 * assert.equal(internalEndpoint("/_gateway/nope"), "unknown");
 * ```
 */
export function internalEndpoint(path: string): InternalEndpoint {
  const name = path.slice(INTERNAL_PREFIX.length);
  if (name.startsWith("health/")) return "health";
  if (name === "metrics") return "metrics";
  if (
    name === "breakers" || name.startsWith("breakers/") ||
    name === "upstreams" ||
    name === "status" || name === "status.json" || name === "login"
  ) {
    return "admin";
  }
  return "unknown";
}

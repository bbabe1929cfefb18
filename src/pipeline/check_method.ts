import { GatewayError } from "../errors.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * Methods a gateway never forwards: TRACE/TRACK echo requests back (and with
 * them credentials, cross-site tracing), CONNECT asks for a tunnel. `fetch`
 * refuses them too, which must not count as an upstream failure.
 */
const NEVER_FORWARDED = new Set(["TRACE", "TRACK", "CONNECT"]);

/** 405 with `Allow` when the route matched but does not take this method. */
export function checkMethod(rt: RouteRuntime, method: string): void {
  if (NEVER_FORWARDED.has(method)) {
    throw new GatewayError(
      405,
      "method_not_allowed",
      `The gateway does not forward ${method}.`,
      { allow: rt.allow },
    );
  }
  if (rt.methods === null || rt.methods.has(method)) return;
  throw new GatewayError(
    405,
    "method_not_allowed",
    `Route "${rt.route.name}" does not accept ${method}.`,
    { allow: rt.allow },
  );
}

import { GatewayError } from "../errors.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/** 405 with `Allow` when the route matched but does not take this method. */
export function checkMethod(rt: RouteRuntime, method: string): void {
  if (rt.methods === null || rt.methods.has(method)) return;
  throw new GatewayError(
    405,
    "method_not_allowed",
    `Route "${rt.route.name}" does not accept ${method}.`,
    { allow: rt.allow },
  );
}

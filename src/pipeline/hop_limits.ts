import { GatewayError } from "../errors.ts";
import { GATEWAY_RESPONSE_HEADERS } from "../http/problem.ts";
import { viaNames } from "../http/via.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * 508 `loop_detected` when the request already went through this gateway
 * (its `Via` names our pseudonym): forwarding it again would recurse until
 * descriptors run out (RFC 9110 §7.6.3).
 */
export function checkLoop(request: Request, pseudonym: string): void {
  if (!viaNames(request.headers.get("via"), pseudonym)) return;
  throw new GatewayError(
    508,
    "loop_detected",
    "The request has already passed through this gateway: a route leads back into it.",
  );
}

/**
 * `Max-Forwards` on an OPTIONS request (RFC 9110 §7.6.2; TRACE is never
 * forwarded): at 0 the gateway answers as the final recipient (200 with
 * `Allow`) and `null` is returned otherwise; the forwarded value is
 * decremented in `maxForwardsUpstream`.
 */
export function answerMaxForwards(
  request: Request,
  rt: RouteRuntime,
): Response | null {
  if (request.method !== "OPTIONS") return null;
  if (request.headers.get("max-forwards")?.trim() !== "0") return null;
  return new Response(null, {
    status: 200,
    headers: {
      ...GATEWAY_RESPONSE_HEADERS,
      allow: rt.allow,
    },
  });
}

/**
 * The `Max-Forwards` to send upstream for an OPTIONS request: the received
 * value less one; `null` when there is none to change (other methods keep
 * whatever they carry, RFC 9110 §7.6.2 lets them be ignored).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxForwardsUpstream } from "./hop_limits.ts";
 * const options = (value: string) =>
 *   new Request("http://gw/", { method: "OPTIONS", headers: { "max-forwards": value } });
 * assert.equal(maxForwardsUpstream(options("3")), "2");
 * assert.equal(maxForwardsUpstream(options("x")), null);
 * assert.equal(maxForwardsUpstream(new Request("http://gw/")), null);
 * ```
 */
export function maxForwardsUpstream(request: Request): string | null {
  if (request.method !== "OPTIONS") return null;
  const value = request.headers.get("max-forwards")?.trim();
  if (value === undefined || !/^[0-9]{1,9}$/.test(value)) return null;
  return String(Math.max(0, Number(value) - 1));
}

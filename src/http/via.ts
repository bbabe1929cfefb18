/**
 * `Via` (RFC 9110 §7.6.3): the gateway appends itself, under a pseudonym
 * (`1.1 edge-gateway`), to every request it forwards, and refuses a request
 * whose `Via` already names that pseudonym — it has been here before, so an
 * upstream leads back into the gateway (a route pointing at the gateway
 * itself, or two gateways pointing at each other). Instances sharing one
 * config share the pseudonym, so a loop through any of them is caught; two
 * different gateways chained on purpose need different pseudonyms.
 */

/** The built-in pseudonym (`via` in the config). */
export const DEFAULT_VIA_PSEUDONYM = "edge-gateway";

/**
 * A pseudonym is a token (RFC 9110 §5.6.2), kept short.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VIA_PSEUDONYM } from "./via.ts";
 * assert.ok(VIA_PSEUDONYM.test("edge-gateway-eu1"));
 * assert.ok(!VIA_PSEUDONYM.test("two words"));
 * ```
 */
export const VIA_PSEUDONYM = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * Whether `via` (the request's header, `null` when absent) lists
 * `pseudonym` as a `received-by`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { viaNames } from "./via.ts";
 * assert.ok(viaNames("1.0 fred, 1.1 edge-gateway (Deno)", "edge-gateway"));
 * assert.ok(!viaNames("1.1 edge-gateway-b", "edge-gateway"));
 * assert.ok(!viaNames(null, "edge-gateway"));
 * ```
 */
export function viaNames(via: string | null, pseudonym: string): boolean {
  if (via === null) return false;
  const wanted = pseudonym.toLowerCase();
  for (const entry of via.split(",")) {
    // received-protocol RWS received-by [ RWS comment ]
    const receivedBy = entry.trim().split(/\s+/)[1];
    if (receivedBy?.toLowerCase() === wanted) return true;
  }
  return false;
}

/**
 * The `Via` value to send upstream: the request's own, then this gateway's
 * entry. The received protocol is written as `1.1` whatever the client
 * spoke (the runtimes do not tell the handler).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendVia } from "./via.ts";
 * assert.equal(appendVia(null, "edge-gateway"), "1.1 edge-gateway");
 * assert.equal(appendVia("1.0 fred", "gw"), "1.0 fred, 1.1 gw");
 * ```
 */
export function appendVia(via: string | null, pseudonym: string): string {
  return via === null || via.trim() === ""
    ? `1.1 ${pseudonym}`
    : `${via}, 1.1 ${pseudonym}`;
}

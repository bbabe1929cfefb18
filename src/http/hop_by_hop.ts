/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so an
 * intermediary must not forward them. Deno's `fetch` forwards whatever it is
 * given, so the gateway drops them itself, in both directions.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/**
 * The header names a `Connection` header lists (lower-case), which are
 * hop-by-hop for this message too; `null` when there are none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionListed } from "./hop_by_hop.ts";
 * const named = connectionListed(new Headers({ connection: "close, X-Secret" }));
 * assert.ok(named?.has("x-secret"));
 * ```
 */
export function connectionListed(headers: Headers): Set<string> | null {
  const value = headers.get("connection");
  if (value === null) return null;
  const names = new Set<string>();
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "") names.add(name);
  }
  return names;
}

/** Response headers the gateway sets itself; an upstream's are replaced. */
const SET_ON_RESPONSE = new Set(["x-request-id", "x-gateway-attempts"]);

/**
 * The response headers to pass back, as name/value pairs (validated once by
 * `Response`): without hop-by-hop ones, without headers that advertise the
 * upstream's software, without those the gateway sets itself, and without a
 * `Content-Length` sent beside `Transfer-Encoding` (RFC 9112 §6.3: the
 * transfer coding frames the body; passing the length on would cut it).
 */
export function forwardableResponseHeaders(
  upstream: Headers,
): [string, string][] {
  const listed = connectionListed(upstream);
  const chunked = upstream.has("transfer-encoding");
  const out: [string, string][] = [];
  // forEach, not for…of: Deno's Headers iterator costs ~15× more per header.
  upstream.forEach((value, name) => {
    if (
      HOP_BY_HOP.has(name) || listed?.has(name) || SET_ON_RESPONSE.has(name) ||
      name === "server" || name === "x-powered-by" ||
      (chunked && name === "content-length")
    ) return;
    out.push([name, value]);
  });
  return out;
}

/**
 * The body length the upstream declared, `NaN` when unknown: a
 * `Content-Length` beside `Transfer-Encoding` declares nothing (RFC 9112 §6.3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredLength } from "./hop_by_hop.ts";
 * assert.equal(declaredLength(new Headers({ "content-length": "5" })), 5);
 * assert.ok(Number.isNaN(declaredLength(new Headers({
 *   "content-length": "5",
 *   "transfer-encoding": "chunked",
 * }))));
 * ```
 */
export function declaredLength(upstream: Headers): number {
  if (upstream.has("transfer-encoding")) return NaN;
  return Number(upstream.get("content-length") ?? NaN);
}

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
 * import { connectionListed } from "./hop_by_hop.ts";
 * const named = connectionListed(new Headers({ connection: "close, X-Secret" }));
 * console.assert(named?.has("x-secret"));
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

/**
 * Copies response headers without hop-by-hop ones and without headers that
 * advertise the upstream's software.
 */
export function forwardableResponseHeaders(upstream: Headers): Headers {
  const listed = connectionListed(upstream);
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (
      HOP_BY_HOP.has(name) || listed?.has(name) || name === "server" ||
      name === "x-powered-by"
    ) continue;
    out.append(name, value);
  }
  return out;
}

import { type HeaderRecord, setHeader } from "./header_record.ts";

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
  return value === null ? null : listedNames(value);
}

/** The lower-case names in a `Connection` value. */
function listedNames(value: string): Set<string> {
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
 * Response headers to pass back: a record (see `header_record.ts`) with one
 * value per name, and each `Set-Cookie` apart, the one field whose values
 * cannot be joined into one.
 */
export interface ResponseHeaders {
  fields: HeaderRecord;
  /** Every `Set-Cookie` value in order; `null` when there is none. */
  setCookies: string[] | null;
  /**
   * The body length the upstream declared, `NaN` when unknown: a
   * `Content-Length` beside `Transfer-Encoding` declares nothing (RFC 9112
   * §6.3).
   */
  length: number;
}

/**
 * The response headers to pass back, in one pass over the upstream's:
 * without hop-by-hop ones (the fixed set and whatever `Connection` names),
 * without headers that advertise the upstream's software, without those the
 * gateway sets itself, and without a `Content-Length` sent beside
 * `Transfer-Encoding` (RFC 9112 §6.3: the transfer coding frames the body;
 * passing the length on would cut it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forwardableResponseHeaders } from "./hop_by_hop.ts";
 * const upstream = new Headers([
 *   ["content-type", "text/plain"],
 *   ["content-length", "5"],
 *   ["connection", "x-trace"],
 *   ["x-trace", "1"],
 *   ["set-cookie", "a=1"],
 *   ["set-cookie", "b=2"],
 * ]);
 * assert.deepEqual(forwardableResponseHeaders(upstream), {
 *   fields: { "content-length": "5", "content-type": "text/plain" },
 *   setCookies: ["a=1", "b=2"],
 *   length: 5,
 * });
 * const chunked = forwardableResponseHeaders(new Headers({
 *   "content-length": "5",
 *   "transfer-encoding": "chunked",
 * }));
 * assert.deepEqual(chunked.fields, {});
 * assert.ok(Number.isNaN(chunked.length));
 * ```
 */
export function forwardableResponseHeaders(upstream: Headers): ResponseHeaders {
  const fields: HeaderRecord = {};
  let setCookies: string[] | null = null;
  let connection: string | null = null;
  let contentLength: string | null = null;
  let chunked = false;
  // forEach, not for…of: Deno's Headers iterator costs ~15× more per header.
  upstream.forEach((value, name) => {
    if (name === "content-length") contentLength = value;
    else if (name === "connection") connection = value;
    else if (name === "transfer-encoding") chunked = true;
    if (
      HOP_BY_HOP.has(name) || SET_ON_RESPONSE.has(name) ||
      name === "server" || name === "x-powered-by"
    ) return;
    if (name === "set-cookie") (setCookies ??= []).push(value);
    else setHeader(fields, name, value);
  });
  // Rare, so handled after the pass: names `Connection` lists (they may
  // sort before it), and a length the transfer coding overrides.
  if (connection !== null) {
    for (const name of listedNames(connection)) {
      if (name === "set-cookie") setCookies = null;
      else if (Object.hasOwn(fields, name)) delete fields[name];
    }
  }
  if (chunked && contentLength !== null) delete fields["content-length"];
  return {
    fields,
    setCookies,
    length: chunked ? NaN : Number(contentLength ?? NaN),
  };
}

/**
 * `headers` as `Response` takes them: the record alone when there is no
 * `Set-Cookie` (the common case, and the cheapest), else name/value pairs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { responseHeadersInit } from "./hop_by_hop.ts";
 * const response = new Response(null, {
 *   headers: responseHeadersInit({ fields: { a: "1" }, setCookies: ["c=1", "d=2"] }),
 * });
 * assert.deepEqual(response.headers.getSetCookie(), ["c=1", "d=2"]);
 * assert.equal(response.headers.get("a"), "1");
 * ```
 */
export function responseHeadersInit(
  headers: Pick<ResponseHeaders, "fields" | "setCookies">,
): HeadersInit {
  const { fields, setCookies } = headers;
  if (setCookies === null) return fields;
  const pairs = Object.entries(fields);
  for (const value of setCookies) pairs.push(["set-cookie", value]);
  return pairs;
}

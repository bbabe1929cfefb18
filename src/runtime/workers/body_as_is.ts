/**
 * Keeps workerd from decoding or re-encoding the bodies the gateway passes
 * on, so bytes reach the client as the upstream sent them and streamed
 * chunks are not held in an encoder. Checked under local workerd (wrangler
 * 4.86) by the conformance suite (tests/conformance/).
 *
 * Two things happen by default, both fixed here:
 *
 * 1. `fetch` decodes a gzip/br upstream body, and a Response labelled
 *    `Content-Encoding: gzip` is encoded again on the way out. Only when the
 *    body is the untouched native stream does workerd skip both; the gateway
 *    pipes bodies through its own streams (timeouts, byte counts), so the
 *    client got different gzip bytes. Fix: fetch with `encodeResponseBody:
 *    "manual"` (keep the upstream's bytes) and answer with `encodeBody:
 *    "manual"` (they are already encoded).
 * 2. For a gzip/br-accepting client, Cloudflare (and `wrangler dev`, which
 *    copies it) compresses a response of a compressible type (text/plain,
 *    application/json, …) that has no `Content-Encoding`, and its encoder
 *    holds streamed chunks (a text stream reached the client only at its
 *    end). `encodeBody: "manual"` and `Cache-Control: no-transform` did not
 *    stop that; labelling the body `Content-Encoding: identity` (true: it is
 *    not encoded) did.
 *
 * @module
 */

/** workerd's extension of `RequestInit` (not in the web types). */
interface WorkersRequestInit extends RequestInit {
  /** `"manual"`: hand over the body as received, still encoded. */
  encodeResponseBody?: "automatic" | "manual";
}

/** workerd's extension of `ResponseInit` (not in the web types). */
interface WorkersResponseInit extends ResponseInit {
  /** `"manual"`: the body is already encoded as `Content-Encoding` says. */
  encodeBody?: "automatic" | "manual";
}

/**
 * `fetch` for upstream requests on Workers: bodies stay as the upstream
 * encoded them. It also keeps `fetch`'s receiver: workerd throws "Illegal
 * invocation" when a stored reference to `fetch` is called detached.
 *
 * @example
 * ```ts ignore
 * createGateway({ config, fetch: fetchKeepingEncoding });
 * ```
 */
export const fetchKeepingEncoding: typeof fetch = (
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> => {
  const keepEncoding: WorkersRequestInit = {
    ...init,
    encodeResponseBody: "manual",
  };
  return fetch(input, keepEncoding);
};

/**
 * Returns `response` marked so workerd sends its body exactly as is:
 * encoded bodies with `encodeBody: "manual"`, plain ones labelled
 * `Content-Encoding: identity`. Bodiless responses are returned untouched.
 * The body stream itself is reused, so no JavaScript runs per chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { respondWithBodyAsIs } from "./body_as_is.ts";
 * const res = respondWithBodyAsIs(new Response("streamed text"));
 * assert.equal(res.headers.get("content-encoding"), "identity");
 * assert.equal(await res.text(), "streamed text");
 * ```
 */
export function respondWithBodyAsIs(response: Response): Response {
  // A 101 carries the client's WebSocket, which a copy would lose.
  if (response.body === null || response.status === 101) return response;
  // Headers of a fetched Response are immutable: copy them.
  const headers = new Headers(response.headers);
  const encoded = headers.has("content-encoding");
  if (!encoded) headers.set("content-encoding", "identity");
  const init: WorkersResponseInit = {
    status: response.status,
    statusText: response.statusText,
    headers,
  };
  if (encoded) init.encodeBody = "manual";
  return new Response(response.body, init);
}

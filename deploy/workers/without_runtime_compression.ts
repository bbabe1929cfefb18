/**
 * Keeps the Workers runtime from re-encoding what the gateway sends.
 *
 * For a gzip/br-accepting client, Cloudflare (and `wrangler dev`, which
 * copies that behaviour in front of workerd) compresses any response of a
 * "compressible" type (text/plain, application/json, text/html, …) that has
 * no `Content-Encoding` or a gzip/br one. Its encoder holds streamed chunks:
 * a text stream with a chunk every 100 ms reached a gzip-accepting client only
 * when it ended. A proxy must also pass the upstream's bytes unchanged.
 *
 * Checked under local workerd (wrangler 4.86): `encodeBody: "manual"` and
 * `Cache-Control: no-transform` still got compressed and held; labelling the
 * body `Content-Encoding: identity` (true: it is not encoded) leaves it alone
 * and every chunk flows as it comes. Wrapping the Response keeps the
 * upstream's native body stream, so no JavaScript runs per chunk.
 *
 * @module
 */

/**
 * Returns `response` marked so the runtime sends its body as is: bodies
 * without a content coding get `Content-Encoding: identity`; bodies that
 * already carry one (an upstream's gzip bytes) and bodiless responses are
 * returned untouched.
 *
 * @example
 * ```ts
 * import { withoutRuntimeCompression } from "./without_runtime_compression.ts";
 * const res = withoutRuntimeCompression(new Response("streamed text"));
 * console.assert(res.headers.get("content-encoding") === "identity");
 * ```
 */
export function withoutRuntimeCompression(response: Response): Response {
  if (response.body === null || response.headers.has("content-encoding")) {
    return response;
  }
  // Headers of a fetched Response are immutable: copy them.
  const headers = new Headers(response.headers);
  headers.set("content-encoding", "identity");
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

import type { CompressionPolicy, Encoding } from "../config/types.ts";
import { negotiateEncoding } from "../http/accept_encoding.ts";
import { isCompressibleType } from "../http/compressible.ts";

/** Statuses whose body is not a whole representation, or is absent. */
const NEVER_COMPRESSED = new Set([204, 206, 304]);

/**
 * Decides whether the gateway compresses a response, and fixes its headers
 * to say so: a body the upstream left unencoded (`Content-Encoding` absent),
 * of a compressible type, not marked `no-transform`, with a known length of
 * at least `minBytes` or streamed, for a client whose `Accept-Encoding`
 * takes one of the policy's codings. `Vary: Accept-Encoding` goes on every
 * response that would be compressed for some client; a compressed one loses
 * `Content-Length` (the runtime frames it) and a strong `ETag` becomes weak
 * (the bytes differ from the upstream's).
 *
 * `headers` are the response headers to send, lower-case names, changed in
 * place; `acceptEncoding` is only asked for bodies worth compressing.
 * Returns the coding to apply, or `null` to pass the body as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CompressionPolicy } from "../config/types.ts";
 * import { chooseEncoding } from "./choose_encoding.ts";
 *
 * const headers: [string, string][] = [
 *   ["content-type", "application/json"],
 *   ["content-length", "4096"],
 * ];
 * const policy: CompressionPolicy = { encodings: ["br", "gzip"], minBytes: 1024 };
 * assert.equal(
 *   chooseEncoding(policy, () => "gzip", 200, headers),
 *   "gzip",
 * );
 * assert.deepEqual(headers, [
 *   ["content-type", "application/json"],
 *   ["vary", "Accept-Encoding"],
 *   ["content-encoding", "gzip"],
 * ]);
 * ```
 */
export function chooseEncoding(
  policy: CompressionPolicy,
  acceptEncoding: () => string | null,
  status: number,
  headers: [string, string][],
): Encoding | null {
  if (NEVER_COMPRESSED.has(status)) return null;
  let contentType: string | null = null;
  let length = -1;
  for (const [name, value] of headers) {
    if (name === "content-encoding") return null;
    if (name === "content-type") contentType = value;
    else if (name === "content-length") length = Number(value);
    else if (name === "cache-control" && /no-transform/i.test(value)) {
      return null;
    }
  }
  if (!isCompressibleType(contentType)) return null;
  if (length >= 0 && length < policy.minBytes) return null;
  addVary(headers);
  const encoding = negotiateEncoding(acceptEncoding(), policy.encodings);
  if (encoding === null) return null;
  for (let i = headers.length - 1; i >= 0; i--) {
    const pair = headers[i];
    if (pair[0] === "content-length") headers.splice(i, 1);
    else if (pair[0] === "etag" && !pair[1].startsWith("W/")) {
      pair[1] = `W/${pair[1]}`;
    }
  }
  headers.push(["content-encoding", encoding]);
  return encoding;
}

/** Adds `Accept-Encoding` to `Vary` unless it is there already (or `*`). */
function addVary(headers: [string, string][]): void {
  for (const pair of headers) {
    if (pair[0] !== "vary") continue;
    if (
      pair[1].trim() === "*" || /(^|,)\s*accept-encoding\s*(,|$)/i.test(pair[1])
    ) {
      return;
    }
    pair[1] = `${pair[1]}, Accept-Encoding`;
    return;
  }
  headers.push(["vary", "Accept-Encoding"]);
}

import type { CompressionPolicy, Encoding } from "../config/types.ts";
import { negotiateEncoding } from "../http/accept_encoding.ts";
import { isCompressibleType } from "../http/compressible.ts";
import type { HeaderRecord } from "../http/header_record.ts";

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
 * const headers = {
 *   "content-type": "application/json",
 *   "content-length": "4096",
 * };
 * const policy: CompressionPolicy = { encodings: ["br", "gzip"], minBytes: 1024 };
 * assert.equal(
 *   chooseEncoding(policy, () => "gzip", 200, headers),
 *   "gzip",
 * );
 * assert.deepEqual(headers, {
 *   "content-type": "application/json",
 *   "vary": "Accept-Encoding",
 *   "content-encoding": "gzip",
 * });
 * ```
 */
export function chooseEncoding(
  policy: CompressionPolicy,
  acceptEncoding: () => string | null,
  status: number,
  headers: HeaderRecord,
): Encoding | null {
  if (NEVER_COMPRESSED.has(status)) return null;
  if (headers["content-encoding"] !== undefined) return null;
  const cacheControl = headers["cache-control"];
  if (cacheControl !== undefined && /no-transform/i.test(cacheControl)) {
    return null;
  }
  if (!isCompressibleType(headers["content-type"] ?? null)) return null;
  const length = Number(headers["content-length"] ?? -1);
  if (length >= 0 && length < policy.minBytes) return null;
  addVary(headers);
  const encoding = negotiateEncoding(acceptEncoding(), policy.encodings);
  if (encoding === null) return null;
  delete headers["content-length"];
  const etag = headers["etag"];
  if (etag !== undefined && !etag.startsWith("W/")) {
    headers["etag"] = `W/${etag}`;
  }
  headers["content-encoding"] = encoding;
  return encoding;
}

/** Adds `Accept-Encoding` to `Vary` unless it is there already (or `*`). */
function addVary(headers: HeaderRecord): void {
  const vary = headers["vary"];
  if (vary === undefined) {
    headers["vary"] = "Accept-Encoding";
    return;
  }
  if (vary.trim() === "*" || /(^|,)\s*accept-encoding\s*(,|$)/i.test(vary)) {
    return;
  }
  headers["vary"] = `${vary}, Accept-Encoding`;
}

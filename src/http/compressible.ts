/**
 * Whether a `Content-Type` is worth compressing: text, JSON, JavaScript,
 * XML, SSE and NDJSON (with their `+json`/`+xml` suffixes). Images, video,
 * archives and anything unnamed are already compressed or opaque.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCompressibleType } from "./compressible.ts";
 *
 * assert.equal(isCompressibleType("application/json; charset=utf-8"), true);
 * assert.equal(isCompressibleType("text/event-stream"), true);
 * assert.equal(isCompressibleType("application/problem+json"), true);
 * assert.equal(isCompressibleType("image/png"), false);
 * assert.equal(isCompressibleType(null), false);
 * ```
 */
export function isCompressibleType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semi = contentType.indexOf(";");
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim()
    .toLowerCase();
  if (type.startsWith("text/")) return true;
  if (!type.startsWith("application/")) return false;
  return COMPRESSIBLE_APPLICATION.has(type) || type.endsWith("+json") ||
    type.endsWith("+xml");
}

const COMPRESSIBLE_APPLICATION: ReadonlySet<string> = new Set([
  "application/json",
  "application/javascript",
  "application/ecmascript",
  "application/xml",
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-javascript",
  "application/graphql-response+json",
]);

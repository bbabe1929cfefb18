/**
 * Strict base64url (RFC 4648 §5, no padding) as JWTs use it. Anything else,
 * padding and the standard alphabet included, is refused rather than
 * guessed at, so one token has exactly one spelling.
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes unpadded base64url text, or returns `null` when it is not that.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBase64Url } from "./base64url.ts";
 * assert.deepEqual(decodeBase64Url("aGk"), new Uint8Array([104, 105]));
 * // Padding is not base64url in a JWT.
 * assert.equal(decodeBase64Url("aGk="), null);
 * ```
 */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Verified JWT claims turned into request headers for the upstream.
 */

/** Visible ASCII, space and tab: what a header value may safely carry. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;
const MAX_VALUE_LENGTH = 4096;

/**
 * The `[header, value]` pairs for `forwardClaims` (claim name → header
 * name). Strings go as they are, other JSON values as JSON text. A claim that
 * is absent, or whose value a header cannot carry (control characters,
 * non-ASCII, over 4 KiB), is left out rather than altered: the upstream gets
 * either the issuer's exact value or nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { claimHeaders } from "./claim_headers.ts";
 * assert.deepEqual(
 *   claimHeaders({ sub: "u-1", roles: ["a"] }, { sub: "x-user-id", roles: "x-roles" }),
 *   [["x-user-id", "u-1"], ["x-roles", '["a"]']],
 * );
 * ```
 */
export function claimHeaders(
  claims: Record<string, unknown>,
  forwardClaims: Record<string, string>,
): [string, string][] {
  const headers: [string, string][] = [];
  for (const [claim, header] of Object.entries(forwardClaims)) {
    // Own properties only: a claim named "constructor" must not find Object's.
    if (!Object.hasOwn(claims, claim)) continue;
    const value = claims[claim];
    if (value === null || value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text.length <= MAX_VALUE_LENGTH && HEADER_SAFE.test(text)) {
      headers.push([header, text]);
    }
  }
  return headers;
}

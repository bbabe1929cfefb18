/**
 * API key checking against a fixed set of keys.
 */
import { equalBytes, sha256 } from "./constant_time.ts";

/**
 * Builds a check for the given keys. The keys are hashed once, on the first
 * check (hashing at build time would leave a promise running that nobody
 * awaits until a key is presented); each
 * candidate is hashed and compared with every key, with no early exit, so
 * neither which key matched nor how many keys there are shows in the timing
 * of a single comparison.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createApiKeyCheck } from "./api_keys.ts";
 * const isValidKey = createApiKeyCheck(["k-1", "k-2"]);
 * assert.equal(await isValidKey("k-2"), true);
 * assert.equal(await isValidKey("k-3"), false);
 * ```
 */
export function createApiKeyCheck(
  keys: readonly string[],
): (candidate: string) => Promise<boolean> {
  let digests: Promise<Uint8Array[]> | undefined;
  return async function isValidApiKey(candidate) {
    digests ??= Promise.all(keys.map(sha256));
    const candidateDigest = await sha256(candidate);
    let matched = false;
    for (const digest of await digests) {
      // The comparison comes first so no key is skipped after a match.
      matched = equalBytes(candidateDigest, digest) || matched;
    }
    return matched;
  };
}

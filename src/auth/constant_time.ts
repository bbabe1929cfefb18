/**
 * Secret comparison that takes the same time wherever two values differ.
 *
 * Both sides are hashed with SHA-256 first, so the comparison always runs over
 * 32 bytes: the time depends neither on where the inputs differ nor on the
 * secret's length. The digests are then XOR-folded without an early exit.
 */

const encoder = new TextEncoder();

/** SHA-256 of a string's UTF-8 bytes. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/**
 * Compares two equal-length byte arrays, touching every byte whatever the
 * content. Arrays of different length are unequal (callers pass digests,
 * whose length is public).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/**
 * Whether two strings are equal, in time independent of their content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { constantTimeEqual } from "./constant_time.ts";
 * assert.equal(await constantTimeEqual("s3cret", "s3cret"), true);
 * assert.equal(await constantTimeEqual("s3cret", "s3creT"), false);
 * ```
 */
export async function constantTimeEqual(
  a: string,
  b: string,
): Promise<boolean> {
  const [digestA, digestB] = await Promise.all([sha256(a), sha256(b)]);
  return equalBytes(digestA, digestB);
}

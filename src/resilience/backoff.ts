/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff and Jitter"): spreading retries uniformly over the whole window
 * keeps many clients that failed together from retrying together.
 */

/**
 * Largest exponent used: `2 ** 1023` is still finite, so `baseMs * 2 ** n`
 * never becomes `0 * Infinity = NaN` for a zero base.
 */
const MAX_EXPONENT = 1023;

/**
 * The delay before retry number `attempt` (0 is the first retry):
 * `random() * min(maxMs, baseMs * 2 ** attempt)`, so `0 <= delay < cap`.
 *
 * @param random A source of numbers in [0, 1); injectable for tests.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fullJitterBackoff } from "./backoff.ts";
 *
 * assert.equal(fullJitterBackoff(3, 50, 2000, () => 0.5), 200); // 0.5 * 400
 * assert.equal(fullJitterBackoff(10, 50, 2000, () => 0.5), 1000); // capped at 2000
 * ```
 */
export function fullJitterBackoff(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(
      `Cannot compute backoff as 'attempt' is not a non-negative integer: current value is ${attempt}`,
    );
  }
  if (!(baseMs >= 0) || !(maxMs >= 0)) {
    throw new RangeError(
      `Cannot compute backoff as 'baseMs' and 'maxMs' must be non-negative: current values are ${baseMs} and ${maxMs}`,
    );
  }
  const capMs = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, MAX_EXPONENT));
  return random() * capMs;
}

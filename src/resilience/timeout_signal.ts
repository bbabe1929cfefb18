/**
 * Deadlines as abort signals, on an injected clock. `AbortSignal.timeout`
 * would do on the real clock, but cannot be cancelled (its timer outlives a
 * finished exchange) and cannot be driven by a fake clock in tests.
 */

import type { Clock } from "./clock.ts";

/** A signal that aborts after a delay, and the means to call that off. */
export interface TimeoutHandle {
  /** Aborts with the given reason when the time is up. */
  signal: AbortSignal;
  /** Cancels the timer, so the signal never aborts from it; idempotent. */
  clear(): void;
}

/**
 * Returns a signal that aborts with `reason()` after `ms` unless cleared
 * first. `reason` is called only when it fires, so the error (and its stack)
 * is built only for timeouts that happen. `ms === Infinity` sets no timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeoutSignal } from "./timeout_signal.ts";
 * import { systemClock } from "./clock.ts";
 *
 * const timeout = timeoutSignal(systemClock, 5000, () => new Error("too slow"));
 * // ... pass timeout.signal to fetch, then when the exchange is over:
 * timeout.clear();
 * assert.equal(timeout.signal.aborted, false);
 * ```
 */
export function timeoutSignal(
  clock: Clock,
  ms: number,
  reason: () => unknown,
): TimeoutHandle {
  const controller = new AbortController();
  if (ms === Infinity) return { signal: controller.signal, clear() {} };
  const cancelTimer = clock.setTimeout(() => controller.abort(reason()), ms);
  return { signal: controller.signal, clear: cancelTimer };
}

/**
 * Waiting that can be called off: used between retries, where the client may
 * leave or the total deadline may pass while we wait.
 */

import type { Clock } from "./clock.ts";

/**
 * Resolves after `ms` on `clock`; rejects with `signal.reason` at once if the
 * signal is already aborted or aborts while waiting. Either way the timer and
 * the abort listener are removed, so nothing is left behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleep } from "./sleep.ts";
 * import { systemClock } from "./clock.ts";
 *
 * const clientGone = new AbortController();
 * const waiting = sleep(systemClock, 60_000, clientGone.signal);
 * clientGone.abort(new Error("client went away"));
 * // The wait ends at once with the signal's reason; no timer is left behind.
 * await assert.rejects(waiting, /client went away/);
 * ```
 */
export function sleep(
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancelTimer();
      reject(signal?.reason);
    };
    const cancelTimer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

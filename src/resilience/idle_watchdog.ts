/**
 * Detects silence in a stream (the `timeouts.idleMs` policy). It is touched
 * for every body chunk of every response, so a touch must cost next to
 * nothing: it only records the time. One timer checks, when it fires, how
 * long it has really been quiet, and re-arms for the remainder if the stream
 * spoke in the meantime (instead of cancelling and rescheduling per chunk).
 */

import type { Clock } from "./clock.ts";
import { quietTicker } from "./quiet_ticker.ts";

/** Handle of {@linkcode idleWatchdog}. */
export interface IdleWatchdog {
  /** Notes activity now. */
  touch(): void;
  /** Stops watching for good; idempotent. */
  stop(): void;
}

/**
 * Calls `onIdle` once when `idleMs` pass without a {@linkcode IdleWatchdog.touch}.
 * Watching starts at once; `idleMs === Infinity` never fires and sets no timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idleWatchdog } from "./idle_watchdog.ts";
 * import type { Clock } from "./clock.ts";
 *
 * // A hand-driven clock: `advance` runs the timers that come due.
 * let now = 0;
 * const timers = new Set<{ at: number; fn: () => void }>();
 * const clock: Clock = {
 *   now: () => now,
 *   setTimeout(fn, ms) {
 *     const timer = { at: now + ms, fn };
 *     timers.add(timer);
 *     return () => timers.delete(timer);
 *   },
 * };
 * const advance = (ms: number) => {
 *   now += ms;
 *   for (const timer of [...timers]) {
 *     if (timer.at <= now && timers.delete(timer)) timer.fn();
 *   }
 * };
 *
 * const controller = new AbortController();
 * const watchdog = idleWatchdog(clock, 30_000, () => controller.abort());
 * advance(20_000);
 * watchdog.touch(); // a chunk arrived: the silence starts again
 * advance(20_000);
 * assert.equal(controller.signal.aborted, false);
 * advance(10_000); // 30 s without a chunk
 * assert.equal(controller.signal.aborted, true);
 * watchdog.stop(); // when the body ends
 * ```
 */
export function idleWatchdog(
  clock: Clock,
  idleMs: number,
  onIdle: () => void,
  /**
   * Silence counts only while this says the reader is waiting for data: a
   * consumer that is not asking (backpressure from a slow client) is not an
   * idle source.
   */
  isWaiting: () => boolean = () => true,
): IdleWatchdog {
  if (idleMs === Infinity) return { touch() {}, stop() {} };
  // A ticker that stops at its first tick: the same one-timer bookkeeping.
  const ticker = quietTicker(clock, idleMs, () => {
    ticker.stop();
    onIdle();
  }, isWaiting);
  return ticker;
}

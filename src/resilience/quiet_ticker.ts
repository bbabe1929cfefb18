import type { CancelTimer, Clock } from "./clock.ts";

/** Handle of {@linkcode quietTicker}. */
export interface QuietTicker {
  /** Notes activity now (the stream spoke). */
  touch(): void;
  /** Stops for good; idempotent. */
  stop(): void;
}

/**
 * Calls `onQuiet` after every `intervalMs` without a
 * {@linkcode QuietTicker.touch}, again and again while the silence lasts
 * (SSE heartbeats). Like the idle watchdog, a touch only records the time;
 * one timer re-arms itself for the remainder. When it is due but
 * `mayTick()` says no (a client that is not reading, an event half sent),
 * it looks again an interval later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakeClock } from "../../tests/_fixtures/fake_clock.ts";
 * import { quietTicker } from "./quiet_ticker.ts";
 *
 * const clock = new FakeClock();
 * let ticks = 0;
 * const ticker = quietTicker(clock, 100, () => ticks++);
 * clock.advance(250);
 * assert.equal(ticks, 2);
 * ticker.touch();
 * clock.advance(150);
 * assert.equal(ticks, 3);
 * ticker.stop();
 * ```
 */
export function quietTicker(
  clock: Clock,
  intervalMs: number,
  onQuiet: () => void,
  mayTick: () => boolean = () => true,
): QuietTicker {
  let lastActivityMs = clock.now();
  let stopped = false;
  let cancelTimer: CancelTimer;
  const check = () => {
    if (stopped) return;
    const quietMs = clock.now() - lastActivityMs;
    if (quietMs < intervalMs) {
      cancelTimer = clock.setTimeout(check, intervalMs - quietMs);
      return;
    }
    lastActivityMs = clock.now();
    if (mayTick()) onQuiet();
    if (!stopped) cancelTimer = clock.setTimeout(check, intervalMs);
  };
  cancelTimer = clock.setTimeout(check, intervalMs);
  return {
    touch() {
      lastActivityMs = clock.now();
    },
    stop() {
      stopped = true;
      cancelTimer();
    },
  };
}

/**
 * Detects silence in a stream (the `timeouts.idleMs` policy). It is touched
 * for every body chunk of every response, so a touch must cost next to
 * nothing: it only records the time. One timer checks, when it fires, how
 * long it has really been quiet, and re-arms for the remainder if the stream
 * spoke in the meantime (instead of cancelling and rescheduling per chunk).
 */

import type { CancelTimer, Clock } from "./clock.ts";

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
 * import { idleWatchdog } from "./idle_watchdog.ts";
 * import { systemClock } from "./clock.ts";
 *
 * const controller = new AbortController();
 * const watchdog = idleWatchdog(systemClock, 30_000, () => controller.abort());
 * watchdog.touch(); // on every chunk
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
  let lastActivityMs = clock.now();
  let stopped = false;
  let cancelTimer: CancelTimer;

  const check = () => {
    if (stopped) return;
    if (!isWaiting()) lastActivityMs = clock.now();
    const quietMs = clock.now() - lastActivityMs;
    if (quietMs >= idleMs) {
      stopped = true;
      onIdle();
    } else {
      cancelTimer = clock.setTimeout(check, idleMs - quietMs);
    }
  };
  cancelTimer = clock.setTimeout(check, idleMs);

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

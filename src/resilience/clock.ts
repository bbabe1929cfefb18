/**
 * Time as a dependency. Nothing in `src/resilience` reads the system clock or
 * schedules timers directly, so tests can drive time exactly with a fake.
 */

/** Cancels a timer scheduled with {@linkcode Clock.setTimeout}; idempotent. */
export type CancelTimer = () => void;

/** Time as a dependency: the system clock in production, a fake in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
}

/** The real clock: `Date.now` and the platform's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = setTimeout(fn, ms);
    return () => clearTimeout(id);
  },
};

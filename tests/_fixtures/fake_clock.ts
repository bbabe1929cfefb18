/**
 * A clock that only moves when a test moves it, so time-dependent code can be
 * driven exactly: no real waiting, no flaky margins.
 */

import type { CancelTimer, Clock } from "../../src/resilience/clock.ts";

interface ScheduledTimer {
  dueMs: number;
  /** Breaks ties between timers due at the same instant: first scheduled fires first. */
  sequence: number;
  fn: () => void;
}

/**
 * More timers than this firing in one advance means a callback keeps
 * rescheduling itself at zero delay; fail loudly rather than spin forever.
 */
const MAX_TIMERS_PER_ADVANCE = 100_000;

/**
 * A manual {@linkcode Clock} for tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakeClock } from "./fake_clock.ts";
 *
 * const clock = new FakeClock(0);
 * const fired: number[] = [];
 * clock.setTimeout(() => fired.push(clock.now()), 100);
 * clock.advance(250);
 * assert.deepEqual(fired, [100]);
 * assert.equal(clock.now(), 250);
 * ```
 */
export class FakeClock implements Clock {
  #nowMs: number;
  #nextSequence = 0;
  readonly #timers = new Map<number, ScheduledTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  /** Schedules `fn` at `now() + ms`; a negative or NaN delay counts as 0, as with the platform's timers. */
  setTimeout(fn: () => void, ms: number): CancelTimer {
    const sequence = this.#nextSequence++;
    const delayMs = ms > 0 ? ms : 0;
    this.#timers.set(sequence, { dueMs: this.#nowMs + delayMs, sequence, fn });
    return () => {
      this.#timers.delete(sequence);
    };
  }

  /** Scheduled timers that have neither fired nor been cancelled. */
  pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way
   * (including ones scheduled by those callbacks) in time order, with `now()`
   * set to each timer's due time while it runs.
   */
  advance(ms: number): void {
    const targetMs = this.#targetOf(ms);
    for (let fired = 0;; fired++) {
      const timer = this.#takeNextDue(targetMs, fired);
      if (timer === undefined) break;
      timer.fn();
    }
    this.#nowMs = targetMs;
  }

  /**
   * Like {@linkcode FakeClock.advance}, but yields a macrotask before each
   * timer and after the last, so promise chains settle between timers.
   */
  async advanceAsync(ms: number): Promise<void> {
    const targetMs = this.#targetOf(ms);
    for (let fired = 0;; fired++) {
      await nextMacrotask();
      const timer = this.#takeNextDue(targetMs, fired);
      if (timer === undefined) break;
      timer.fn();
    }
    this.#nowMs = targetMs;
  }

  #targetOf(ms: number): number {
    if (!(ms >= 0)) {
      throw new RangeError(
        `Cannot advance the fake clock as 'ms' is not a non-negative number: current value is ${ms}`,
      );
    }
    return this.#nowMs + ms;
  }

  /** Removes and returns the earliest timer due by `targetMs`, moving `now()` to its due time. */
  #takeNextDue(
    targetMs: number,
    firedSoFar: number,
  ): ScheduledTimer | undefined {
    let next: ScheduledTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.dueMs > targetMs) continue;
      if (
        next === undefined || timer.dueMs < next.dueMs ||
        (timer.dueMs === next.dueMs && timer.sequence < next.sequence)
      ) {
        next = timer;
      }
    }
    if (next === undefined) return undefined;
    if (firedSoFar >= MAX_TIMERS_PER_ADVANCE) {
      throw new Error(
        `Cannot advance the fake clock as more than ${MAX_TIMERS_PER_ADVANCE} timers fell due: a timer probably reschedules itself at zero delay`,
      );
    }
    this.#timers.delete(next.sequence);
    this.#nowMs = next.dueMs;
    return next;
  }
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Timers of one duration share one platform timer. An exchange sets and
 * clears several deadlines (total, headers, body) and almost none fires;
 * on Deno each `setTimeout`/`clearTimeout` pair allocates a Node-style
 * `Timeout` and reaches into the runtime's timer wheel, which costs more per
 * request than the rest of the deadline logic together.
 *
 * Deadlines of equal duration fall due in the order they were set, so a
 * FIFO per duration holds them sorted for free: setting one is a push,
 * clearing one marks it (and drops cleared ones from the front), and one
 * platform timer per duration is armed for the front entry. Firing stays
 * exact: each callback runs when its own `now() + ms` is reached, never
 * early, on the same clock. A queue with nothing pending clears its timer
 * and is forgotten, so an idle process holds no timer (the test sanitizers
 * see none) and durations used once leave nothing behind.
 *
 * Only for runtimes where a timer may outlive the request that set it (Deno):
 * on workerd a timer belongs to the request that made it, so a deadline set
 * by one request must not be carried by another's platform timer (see
 * `src/runtime/`, where the clock of each runtime is chosen).
 */

import type { CancelTimer, Clock } from "./clock.ts";

interface Deadline {
  dueMs: number;
  /** `null` once fired or cancelled. */
  fn: (() => void) | null;
}

/** Compaction threshold: dropped entries at the front kept before slicing. */
const COMPACT_AFTER = 1024;

/** The pending deadlines of one duration, oldest first. */
class DurationQueue {
  #entries: Deadline[] = [];
  /** Index of the first entry that may still be pending. */
  #head = 0;
  #pending = 0;
  #cancelTimer: CancelTimer | null = null;
  #firing = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    /** Called when nothing is pending any more: the owner forgets this queue. */
    private readonly onIdle: () => void,
  ) {}

  add(fn: () => void): CancelTimer {
    const deadline: Deadline = { dueMs: this.clock.now() + this.ms, fn };
    this.#entries.push(deadline);
    this.#pending++;
    if (this.#cancelTimer === null && !this.#firing) this.#arm(this.ms);
    return () => {
      if (deadline.fn === null) return;
      deadline.fn = null;
      this.#pending--;
      if (this.#firing) return;
      if (this.#pending === 0) this.#idle();
      else this.#dropSettledFront();
    };
  }

  #arm(delayMs: number): void {
    this.#cancelTimer = this.clock.setTimeout(this.#fire, delayMs);
  }

  #fire = (): void => {
    this.#cancelTimer = null;
    this.#firing = true;
    const now = this.clock.now();
    try {
      while (this.#head < this.#entries.length) {
        const deadline = this.#entries[this.#head];
        const fn = deadline.fn;
        if (fn !== null && deadline.dueMs > now) break;
        this.#head++;
        if (fn === null) continue;
        deadline.fn = null;
        this.#pending--;
        fn();
      }
    } finally {
      this.#firing = false;
      if (this.#pending === 0) this.#idle();
      else {
        this.#dropSettledFront();
        this.#arm(this.#entries[this.#head].dueMs - now);
      }
    }
  };

  /** Skips cancelled entries at the front, so the queue spans only live ones. */
  #dropSettledFront(): void {
    while (this.#entries[this.#head].fn === null) this.#head++;
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  #idle(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#entries = [];
    this.#head = 0;
    this.onIdle();
  }
}

/**
 * `clock` with its `setTimeout` multiplexed: one platform timer per distinct
 * duration that has a deadline pending, however many are pending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Clock, systemClock } from "./clock.ts";
 * import { sharedDeadlines } from "./shared_deadlines.ts";
 *
 * let platformTimers = 0;
 * const counting: Clock = {
 *   now: () => systemClock.now(),
 *   setTimeout(fn, ms) {
 *     platformTimers++;
 *     return systemClock.setTimeout(fn, ms);
 *   },
 * };
 * const clock = sharedDeadlines(counting);
 * const cancels = [1, 2, 3].map(() => clock.setTimeout(() => {}, 30_000));
 * assert.equal(platformTimers, 1); // one platform timer for the three
 * for (const cancel of cancels) cancel(); // the last one clears it
 * ```
 */
export function sharedDeadlines(clock: Clock): Clock {
  const queues = new Map<number, DurationQueue>();
  return {
    now: () => clock.now(),
    setTimeout(fn, ms) {
      // Not worth a queue: zero, negative, NaN or non-finite delays go to
      // the platform as they are (which treats them as it always does).
      if (!(ms > 0 && ms < Infinity)) return clock.setTimeout(fn, ms);
      let queue = queues.get(ms);
      if (queue === undefined) {
        const created = new DurationQueue(clock, ms, () => {
          if (queues.get(ms) === created) queues.delete(ms);
        });
        queue = created;
        queues.set(ms, queue);
      }
      return queue.add(fn);
    },
  };
}

/**
 * A bulkhead caps the exchanges in flight on one route, so one slow upstream
 * cannot take every connection and all memory of the gateway. It never
 * queues: a full bulkhead is answered at once (503 `overloaded`), because a
 * queue in front of a slow upstream only adds latency to the failure.
 */

/** One slot taken in a {@linkcode Bulkhead}. */
export interface BulkheadPermit {
  /** Gives the slot back; calls after the first do nothing, so every exit path may call it. */
  release(): void;
}

/**
 * A counter of in-flight exchanges with a ceiling.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Bulkhead } from "./bulkhead.ts";
 *
 * const bulkhead = new Bulkhead(1);
 * const permit = bulkhead.tryAcquire();
 * assert.ok(permit);
 * assert.equal(bulkhead.tryAcquire(), undefined); // full
 * permit.release();
 * assert.equal(bulkhead.inFlight, 0);
 * ```
 */
export class Bulkhead {
  readonly #maxConcurrent: number;
  #inFlight = 0;

  /** @param maxConcurrent The ceiling; `null` is unlimited (the count is still kept). */
  constructor(maxConcurrent: number | null) {
    if (
      maxConcurrent !== null &&
      (!Number.isInteger(maxConcurrent) || maxConcurrent < 0)
    ) {
      throw new RangeError(
        `Cannot create a bulkhead as 'maxConcurrent' is not a non-negative integer or null: current value is ${maxConcurrent}`,
      );
    }
    this.#maxConcurrent = maxConcurrent ?? Infinity;
  }

  /** Exchanges holding a permit now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes a slot, or returns `undefined` at once when the bulkhead is full. */
  tryAcquire(): BulkheadPermit | undefined {
    if (this.#inFlight >= this.#maxConcurrent) return undefined;
    this.#inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }
}

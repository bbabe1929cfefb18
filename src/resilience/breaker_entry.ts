/**
 * What a breaker board keeps per route × upstream, what it hands callers,
 * and the context its store-facing helpers share.
 */

import type { BreakerPolicy } from "./circuit_breaker.ts";
import type { BreakerStore } from "./breaker_store.ts";
import type { StoreGuard } from "./breaker_store_guard.ts";
import type { CallOutcome, CircuitBreaker } from "./circuit_breaker.ts";
import type { Clock } from "./clock.ts";

/** The board's answer for one call. */
export type Admission =
  | {
    allowed: true;
    /** A half-open probe: its outcome decides the breaker. */
    probe: boolean;
    /** Report the call's outcome exactly once; a second call is ignored. */
    report(outcome: CallOutcome): void;
    /**
     * Instead of `report`: the call produced no verdict on the upstream (it
     * never went out, or the client left first). A probe slot is given back.
     */
    release(): void;
  }
  | {
    allowed: false;
    /** Time until half-open (>= 0). */
    retryAfterMs: number;
  };

/** One registered breaker. */
export interface BreakerEntry {
  route: string;
  upstream: string;
  /** The store key of its state: `${route}|${upstream}`. */
  key: string;
  policy: BreakerPolicy;
  breaker: CircuitBreaker;
  /** The chain of this breaker's store writes, in transition order. */
  publishing: Promise<void>;
  /** Writes queued or running, so a sync does not write the same state again. */
  pendingWrites: number;
  /**
   * Every shared probe slot was taken when last asked: until then (epoch ms)
   * half-open admissions are refused without asking the store again.
   */
  probesBusyUntil: number;
  /**
   * This board's probe succeeded and its verdict is being written (it may
   * close the breaker): admissions wait for it instead of deciding on the
   * half-open state it is about to leave. `null` when none is.
   */
  settlingProbe: Promise<void> | null;
}

/** What the board's store-facing helpers share. */
export interface BoardContext {
  store: BreakerStore;
  guard: StoreGuard;
  clock: Clock;
  /** This board's identity in probe leases. */
  holder: string;
  probeLeaseMs: number;
  /** How long a "no probe slot free" answer is trusted (the sync interval). */
  probesBusyMs: number;
  /** Keeps a background store task alive (and awaited on close); it must not reject. */
  background(task: Promise<unknown>): void;
}

/**
 * An allowed admission whose `report` runs `onReport` once.
 *
 * @example
 * ```ts ignore
 * const admission = allowedAdmission(
 *   false,
 *   (outcome) => breaker.record(epoch, false, outcome),
 *   () => breaker.release(epoch, false),
 * );
 * ```
 */
export function allowedAdmission(
  probe: boolean,
  onReport: (outcome: CallOutcome) => void,
  onRelease: () => void,
): Admission {
  let settled = false;
  return {
    allowed: true,
    probe,
    report(outcome) {
      if (settled) return;
      settled = true;
      onReport(outcome);
    },
    release() {
      if (settled) return;
      settled = true;
      onRelease();
    },
  };
}

/** The store key of probe slot `slot` of a breaker. */
export function probeSlotKey(entry: BreakerEntry, slot: number): string {
  return `${entry.key}|probe|${slot}`;
}

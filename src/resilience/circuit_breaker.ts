/**
 * A circuit breaker as a pure state machine: no I/O, time only from the
 * injected clock. Closed → open when the window's failure or slow-call rate
 * reaches its threshold (after `minCalls`), or after `consecutiveFailures`
 * failures in a row (a dead upstream is out after a handful of calls, not
 * once a window fills); open → half-open after the open time; half-open lets
 * exactly `halfOpenProbes` probes through: all succeed → closed, one fails →
 * open again for twice as long as the last time, up to `maxOpenMs` (Envoy's
 * outlier ejection grows the same way: base time × times ejected).
 */

import type { Clock } from "./clock.ts";
import {
  type BreakerState,
  type BreakerStateName,
  isNewerState,
  isOpenExpired,
  type TransitionCause,
} from "./breaker_merge.ts";
import { createWindow, type OutcomeWindow } from "./breaker_window.ts";

export type { BreakerState, BreakerStateName };

/**
 * How a breaker judges its upstream (the `breaker` policy of a route; the
 * config reuses this type).
 */
export interface BreakerPolicy {
  /** `"count"`: the last `size` calls; `"time"`: the calls of the last `size` seconds. */
  window: "count" | "time";
  /** Calls (count window) or seconds (time window). */
  size: number;
  /** Calls the window must hold before the breaker may open. */
  minCalls: number;
  /** Opens at this share of failed calls (network error, timeout, 5xx), 0 < rate ≤ 1. */
  failureRate: number;
  /** A call slower than this is slow; `null` turns slow-call detection off. */
  slowCallMs: number | null;
  /** Opens at this share of slow calls, 0 < rate ≤ 1. */
  slowCallRate: number;
  /** How long the breaker stays open before it lets probes through. */
  openMs: number;
  /** Probes let through when half-open: all succeed → closed, one fails → open. */
  halfOpenProbes: number;
  /** Also opens after this many failures in a row, whatever the window. */
  consecutiveFailures: number;
  /** Each re-open after a failed probe doubles the open time, up to this. */
  maxOpenMs: number;
}

/** How a call went; `failure` = network error, timeout or 5xx. */
export interface CallOutcome {
  /** Network error, timeout or 5xx. */
  failure: boolean;
  /** Time to response headers; decides whether the call was slow. */
  durationMs: number;
}

/** The breaker's answer to "may this call go out?". */
export type LocalAdmission =
  | { allowed: true; probe: boolean; epoch: number }
  | { allowed: false; retryAfterMs: number };

/** Live rates for views and metrics. */
export interface BreakerStats {
  calls: number;
  failureRate: number;
  slowCallRate: number;
}

/** An operator's override. "reset" also clears the window and any force. */
export type ForceAction = "open" | "close" | "reset";

/** Told of every transition; `cause` "adopted" = taken from another instance. */
export type TransitionListener = (
  from: BreakerState,
  to: BreakerState,
  cause: TransitionCause | "adopted",
) => void;

export interface CircuitBreakerOptions {
  policy: BreakerPolicy;
  clock: Clock;
  onTransition?: TransitionListener;
}

/**
 * Half-open with every probe out: the probes settle within one call's time,
 * and a zero `Retry-After` would invite clients to retry at once.
 */
export const HALF_OPEN_RETRY_AFTER_MS = 1000;

/**
 * One breaker (one route × upstream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CircuitBreaker } from "./circuit_breaker.ts";
 * import type { Clock } from "./clock.ts";
 *
 * let now = 0;
 * const clock: Clock = { now: () => now, setTimeout: () => () => {} };
 * const breaker = new CircuitBreaker({
 *   policy: {
 *     window: "count", size: 4, minCalls: 2, failureRate: 0.5,
 *     slowCallMs: null, slowCallRate: 1, openMs: 10_000, halfOpenProbes: 1,
 *     consecutiveFailures: 5, maxOpenMs: 60_000,
 *   },
 *   clock,
 * });
 * for (let call = 0; call < 2; call++) {
 *   const admission = breaker.admit();
 *   assert.ok(admission.allowed);
 *   breaker.record(admission.epoch, admission.probe, { failure: true, durationMs: 12 });
 * }
 * assert.equal(breaker.state.state, "open");
 * assert.deepEqual(breaker.admit(), { allowed: false, retryAfterMs: 10_000 });
 *
 * now += 10_000; // openMs later, one probe goes through; its success closes
 * const probe = breaker.admit();
 * assert.ok(probe.allowed && probe.probe);
 * breaker.record(probe.epoch, probe.probe, { failure: false, durationMs: 8 });
 * assert.equal(breaker.state.state, "closed");
 * ```
 */
export class CircuitBreaker {
  readonly #policy: BreakerPolicy;
  readonly #clock: Clock;
  readonly #onTransition?: TransitionListener;
  readonly #window: OutcomeWindow;
  #state: BreakerState;
  #probesOut = 0;
  #probesSucceeded = 0;
  /** Failures in a row while closed. */
  #consecutiveFailures = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#policy = options.policy;
    this.#clock = options.clock;
    this.#onTransition = options.onTransition;
    this.#state = {
      state: "closed",
      epoch: 0,
      changedAt: options.clock.now(),
      openUntil: null,
      forced: false,
    };
    this.#window = createWindow(options.policy);
  }

  /** The current state (a copy). */
  get state(): BreakerState {
    return { ...this.#state };
  }

  /** Open and not yet due for half-open: no call may go out (no copy of the state made). */
  isOut(nowMs: number): boolean {
    return this.#state.state === "open" && !isOpenExpired(this.#state, nowMs);
  }

  /** Decides one call; an expired open turns half-open here. */
  admit(): LocalAdmission {
    const now = this.#clock.now();
    const { state, openUntil, forced } = this.#state;
    if (state === "closed") {
      return { allowed: true, probe: false, epoch: this.#state.epoch };
    }
    if (state === "open") {
      if (!isOpenExpired(this.#state, now)) {
        const retryAfterMs = forced || openUntil === null
          ? this.#policy.openMs
          : openUntil - now;
        return { allowed: false, retryAfterMs: Math.max(0, retryAfterMs) };
      }
      this.#transition("half_open", "local");
    }
    const taken = this.#probesOut + this.#probesSucceeded;
    if (taken >= this.#policy.halfOpenProbes) {
      return { allowed: false, retryAfterMs: HALF_OPEN_RETRY_AFTER_MS };
    }
    this.#probesOut++;
    return { allowed: true, probe: true, epoch: this.#state.epoch };
  }

  /**
   * Gives back a half-open probe slot of `epoch` whose call never produced a
   * verdict (it did not go out, or the client left): the slot is free for
   * another probe and the breaker's state is unchanged.
   */
  release(epoch: number, probe: boolean): void {
    if (
      probe && epoch === this.#state.epoch && this.#state.state === "half_open"
    ) {
      this.#probesOut = Math.max(0, this.#probesOut - 1);
    }
  }

  /**
   * Records a call admitted under `epoch`. Calls admitted under an earlier
   * state are ignored: they say nothing about the current one.
   */
  record(epoch: number, probe: boolean, outcome: CallOutcome): void {
    if (epoch !== this.#state.epoch) return;
    const slow = this.#policy.slowCallMs !== null &&
      outcome.durationMs > this.#policy.slowCallMs;
    if (this.#state.state === "closed") {
      this.#window.record(outcome.failure, slow, this.#clock.now());
      this.#consecutiveFailures = outcome.failure
        ? this.#consecutiveFailures + 1
        : 0;
      if (!this.#state.forced && this.#tripped()) {
        this.#transition("open", "local");
      }
    } else if (this.#state.state === "half_open" && probe) {
      this.#probesOut = Math.max(0, this.#probesOut - 1);
      // A slow probe says the upstream still struggles, like a failed one.
      if (outcome.failure || slow) {
        this.#transition("open", "local");
      } else if (++this.#probesSucceeded >= this.#policy.halfOpenProbes) {
        this.#transition("closed", "local");
      }
    }
  }

  /**
   * Takes `remote` if it is newer (higher epoch; tie: later `changedAt`).
   * Returns whether it did.
   */
  adopt(remote: BreakerState): boolean {
    if (!isNewerState(remote, this.#state)) return false;
    this.#enter({ ...remote }, "adopted");
    return true;
  }

  /** An operator's override; always a transition, so it propagates. */
  force(action: ForceAction): void {
    const now = this.#clock.now();
    this.#enter({
      state: action === "open" ? "open" : "closed",
      epoch: this.#state.epoch + 1,
      changedAt: now,
      openUntil: null,
      forced: action !== "reset",
    }, "admin");
  }

  /** Live rates of the current window. */
  stats(): BreakerStats {
    const { calls, failures, slowCalls } = this.#window.stats(
      this.#clock.now(),
    );
    return {
      calls,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slowCalls / calls,
    };
  }

  #tripped(): boolean {
    const { calls, failures, slowCalls } = this.#window.stats(
      this.#clock.now(),
    );
    const { minCalls, size, window, failureRate, slowCallMs, slowCallRate } =
      this.#policy;
    // A count window never holds more than `size` calls.
    if (this.#consecutiveFailures >= this.#policy.consecutiveFailures) {
      return true;
    }
    const needed = window === "count" ? Math.min(minCalls, size) : minCalls;
    if (calls === 0 || calls < needed) return false;
    if (failures / calls >= failureRate) return true;
    return slowCallMs !== null && slowCalls / calls >= slowCallRate;
  }

  #transition(state: BreakerStateName, cause: TransitionCause): void {
    const now = this.#clock.now();
    const from = this.#state;
    // A failed probe re-opens for longer; any other transition starts over.
    const reopens = state === "open" && from.state === "half_open"
      ? (from.reopens ?? 0) + 1
      : state === "half_open"
      ? from.reopens ?? 0
      : 0;
    this.#enter({
      state,
      epoch: from.epoch + 1,
      changedAt: now,
      openUntil: state === "open" ? now + this.#openMs(reopens) : null,
      forced: false,
      reopens,
    }, cause);
  }

  /** `openMs` doubled per re-open, capped at `maxOpenMs` (never below `openMs`). */
  #openMs(reopens: number): number {
    const { openMs, maxOpenMs } = this.#policy;
    return Math.max(
      openMs,
      Math.min(maxOpenMs, openMs * 2 ** Math.min(reopens, 30)),
    );
  }

  #enter(next: BreakerState, cause: TransitionCause | "adopted"): void {
    const from = this.#state;
    this.#state = next;
    this.#window.reset();
    this.#probesOut = 0;
    this.#probesSucceeded = 0;
    this.#consecutiveFailures = 0;
    this.#onTransition?.({ ...from }, { ...next }, cause);
  }
}

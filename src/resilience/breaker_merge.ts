/**
 * How breaker states from different instances are ordered and combined.
 * Every transition bumps `epoch`; the higher epoch is the newer state.
 */

/** The three states of a circuit breaker. */
export type BreakerStateName = "closed" | "open" | "half_open";

/** The facts of a breaker's state that other instances need: what a store carries. */
export interface BreakerState {
  /** Closed, open or half-open. */
  state: BreakerStateName;
  /** Bumped on every transition. */
  epoch: number;
  /** When the transition happened (epoch ms). */
  changedAt: number;
  /** When an open breaker may turn half-open; `null` unless open, and for a forced open. */
  openUntil: number | null;
  /** Held by an operator: a forced open never half-opens, a forced close never opens. */
  forced: boolean;
  /**
   * Re-opens in a row after a failed half-open probe: each doubles the open
   * time (up to `maxOpenMs`). Carried with the state so that whichever
   * instance re-opens next grows it; absent (0) in states written before.
   */
  reopens?: number;
}

const STATE_RANK: Record<BreakerStateName, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

/**
 * Whether `a` supersedes `b`: a higher epoch wins; on a tie the later
 * `changedAt`; on a full tie the more cautious state (open), so that every
 * instance settles on the same answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNewerState } from "./breaker_merge.ts";
 * const open = { state: "open", epoch: 3, changedAt: 1_000, openUntil: 31_000, forced: false } as const;
 * const closed = { state: "closed", epoch: 2, changedAt: 2_000, openUntil: null, forced: false } as const;
 * // The higher epoch wins, whatever the clocks of the two instances say.
 * assert.equal(isNewerState(open, closed), true);
 * assert.equal(isNewerState(closed, open), false);
 * ```
 */
export function isNewerState(a: BreakerState, b: BreakerState): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.changedAt !== b.changedAt) return a.changedAt > b.changedAt;
  return STATE_RANK[a.state] > STATE_RANK[b.state];
}

/** Whether two states are the very same transition. */
export function isSameState(a: BreakerState, b: BreakerState): boolean {
  return !isNewerState(a, b) && !isNewerState(b, a);
}

/** Whether an open state has served its time (a stale open reads as ready for half-open). */
export function isOpenExpired(state: BreakerState, nowMs: number): boolean {
  return state.state === "open" && !state.forced &&
    state.openUntil !== null && state.openUntil <= nowMs;
}

/** Who made a transition: the breaker's own rules, or an operator. */
export type TransitionCause = "local" | "admin";

/**
 * The state to write over `remote` for a local transition `from → to`, or
 * `null` when the remote state should be adopted instead.
 *
 * A local transition is re-applied on top of a remote state that is in the
 * same situation (`from`'s state, not forced, an open one expired), with an
 * epoch above the remote one: two instances that both saw an upstream fail
 * agree on "open" rather than lose one of the opens. A remote state that has
 * moved elsewhere (another instance closed, re-opened, or an operator forced
 * it) wins. Admin actions always apply.
 */
export function rebaseTransition(
  from: BreakerState,
  to: BreakerState,
  remote: BreakerState | null,
  nowMs: number,
  cause: TransitionCause,
): BreakerState | null {
  if (remote === null || isSameState(remote, from)) return to;
  const above = { ...to, epoch: Math.max(to.epoch, remote.epoch + 1) };
  if (cause === "admin") return above;
  if (!isNewerState(remote, from)) return above;
  const sameSituation = remote.state === from.state && !remote.forced &&
    (remote.state !== "open" || isOpenExpired(remote, nowMs));
  return sameSituation ? above : null;
}

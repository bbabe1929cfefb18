import type { RetryPolicy } from "../config/types.ts";
import { fullJitterBackoff } from "../resilience/backoff.ts";
import type { Clock } from "../resilience/clock.ts";
import { parseRetryAfter } from "../resilience/retry_after.ts";
import type { Failure } from "./attempt.ts";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Retries are configured and safe: an idempotent method, or an `Idempotency-Key`. */
export function isRetryEligible(request: Request, retries: number): boolean {
  return retries > 0 &&
    (IDEMPOTENT.has(request.method) || request.headers.has("idempotency-key"));
}

/** What a granted retry needs: somewhere to go, and how long to wait first. */
export interface RetryPlan<A> {
  delayMs: number;
  admission: A;
}

/** A route's retry rules, compiled once; the same for every exchange on it. */
export interface RetryRules<A extends { release(): void }> {
  retry: RetryPolicy;
  retryStatuses: ReadonlySet<number>;
  retryOnNetwork: boolean;
  retryOnTimeout: boolean;
  clock: Clock;
  random: () => number;
  /**
   * Breaker admission for attempt number `attempt` (0 = the first), after
   * `failed` (the attempt that just ended); `null` when every upstream refuses.
   */
  admit(attempt: number, failed: A): A | null | Promise<A | null>;
  /** The route's retry budget: takes one retry, or says there is none left. */
  tryAcquireRetry(): boolean;
  onBudgetDenied(): void;
}

/**
 * Whether an exchange tries again after an attempt, in the way of Envoy's
 * `RetryStateImpl` (`shouldRetryHeaders` / `shouldRetryReset`): a retryable
 * outcome, then the retry limit, the request's idempotency, a replayable
 * body, time left for the wait plus an attempt, an upstream whose breaker
 * admits it, and last the retry budget (so a refused retry never spends it).
 * No I/O of its own: the clock, randomness and admission are given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RetryRules, RetryState } from "./retry_state.ts";
 *
 * type Pick = { upstream: number; release(): void };
 * const rules: RetryRules<Pick> = {
 *   retry: { retries: 1, baseMs: 100, maxMs: 1000, on: [503], retryAfterCapMs: 5000,
 *     budget: { ratio: 0.2, minPerSecond: 10 }, replayBufferBytes: 0 },
 *   retryStatuses: new Set([503]), retryOnNetwork: true, retryOnTimeout: true,
 *   clock: { now: () => 0, setTimeout: () => () => {} }, random: () => 0.5,
 *   admit: (_attempt, failed) => ({ upstream: failed.upstream + 1, release() {} }),
 *   tryAcquireRetry: () => true, onBudgetDenied() {},
 * };
 * const first: Pick = { upstream: 0, release() {} };
 * const state = new RetryState(rules, { eligible: true, deadline: 10_000 });
 * const unavailable = new Response(null, { status: 503 });
 * const plan = await state.shouldRetryHeaders(unavailable, true, first);
 * assert.deepEqual([plan?.delayMs, plan?.admission.upstream], [50, 1]);
 * assert.equal(await state.shouldRetryHeaders(unavailable, true, plan!.admission), null);
 * ```
 */
export class RetryState<A extends { release(): void }> {
  readonly #rules: RetryRules<A>;
  /** Whether the request may be retried at all (its body is then kept for replay). */
  readonly eligible: boolean;
  /** When the exchange's `totalMs` runs out, on the rules' clock. */
  readonly #deadline: number;
  /** The attempt that just ended (0 = the first). */
  #attempt = 0;

  constructor(
    rules: RetryRules<A>,
    exchange: {
      /** Idempotent method or `Idempotency-Key`, and `retries` > 0. */
      eligible: boolean;
      deadline: number;
    },
  ) {
    this.#rules = rules;
    this.eligible = exchange.eligible;
    this.#deadline = exchange.deadline;
  }

  /** After a response: retry on a listed status, waiting out a `Retry-After` up to its cap. */
  shouldRetryHeaders(
    response: Response,
    replayable: boolean,
    failed: A,
  ): Promise<RetryPlan<A> | null> | null {
    const { retry, clock, random } = this.#rules;
    if (!this.#rules.retryStatuses.has(response.status)) return null;
    const retryAfter = parseRetryAfter(response.headers, clock.now());
    if (retryAfter !== undefined && retryAfter > retry.retryAfterCapMs) {
      return null;
    }
    const backoff = fullJitterBackoff(
      this.#attempt,
      retry.baseMs,
      retry.maxMs,
      random,
    );
    return this.#next(Math.max(backoff, retryAfter ?? 0), replayable, failed);
  }

  /** After an attempt that produced no response (network error or headers timeout). */
  shouldRetryReset(
    failure: Failure,
    replayable: boolean,
    failed: A,
  ): Promise<RetryPlan<A> | null> | null {
    const { retry, random } = this.#rules;
    const wanted = failure.kind === "network"
      ? this.#rules.retryOnNetwork
      : this.#rules.retryOnTimeout;
    if (!wanted) return null;
    const backoff = fullJitterBackoff(
      this.#attempt,
      retry.baseMs,
      retry.maxMs,
      random,
    );
    return this.#next(backoff, replayable, failed);
  }

  async #next(
    delayMs: number,
    replayable: boolean,
    failed: A,
  ): Promise<RetryPlan<A> | null> {
    const rules = this.#rules;
    if (this.#attempt >= rules.retry.retries) return null;
    if (!this.eligible || !replayable) return null;
    if (rules.clock.now() + delayMs >= this.#deadline) return null;
    const admission = await rules.admit(this.#attempt + 1, failed);
    if (admission === null) return null;
    if (!rules.tryAcquireRetry()) {
      admission.release();
      rules.onBudgetDenied();
      return null;
    }
    this.#attempt++;
    return { admission, delayMs };
  }
}

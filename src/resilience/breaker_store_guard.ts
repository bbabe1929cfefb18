/**
 * Bounds every store call by a timeout and keeps the store's health: a store
 * that throws, hangs or answers 429 costs the caller at most the timeout,
 * and each incident is reported once (each error still counted).
 */

import type { Clock } from "./clock.ts";

/** The store's health as `/_gateway/breakers` and metrics show it. */
export interface StoreHealth {
  /** The last store call succeeded. */
  healthy: boolean;
  /** Failed store calls since start. */
  errors: number;
  /** The last failure, as `name: message`; `null` if none. */
  lastError: string | null;
  /** Start of the current incident (epoch ms); `null` while healthy. */
  since: number | null;
}

/** A store call that did not settle within its bound. */
export class StoreTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Breaker store call timed out after ${timeoutMs} ms`);
    this.name = "StoreTimeoutError";
  }
}

/** A store call cut short because the board closed; not a store failure. */
export class StoreGuardClosedError extends Error {
  constructor() {
    super("Cannot call the breaker store as the board is closed");
    this.name = "StoreGuardClosedError";
  }
}

/** Receives each failed store call; `firstOfIncident` after a healthy period. */
export type StoreErrorListener = (
  error: unknown,
  firstOfIncident: boolean,
) => void;

/**
 * Runs store calls under a timeout and tracks health.
 *
 * @example
 * ```ts ignore
 * const guard = new StoreGuard(clock, 250, (error, first) => first && log(error));
 * const records = await guard.call(() => store.get(keys));
 * ```
 */
export class StoreGuard {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #onError?: StoreErrorListener;
  readonly #aborts = new Set<() => void>();
  #closed = false;
  #health: StoreHealth = {
    healthy: true,
    errors: 0,
    lastError: null,
    since: null,
  };

  /** Calls time out after `timeoutMs` on `clock`; `onError` hears of every failure. */
  constructor(clock: Clock, timeoutMs: number, onError?: StoreErrorListener) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#onError = onError;
  }

  /** Whether the last store call succeeded. */
  get healthy(): boolean {
    return this.#health.healthy;
  }

  /** A copy of the store's health: last outcome, error count, since when failing. */
  health(): StoreHealth {
    return { ...this.#health };
  }

  /** Runs `operation`, rejecting after `extraMs` + the timeout. */
  call<T>(operation: () => Promise<T>, extraMs = 0): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreGuardClosedError());
    const timeoutMs = this.#timeoutMs + extraMs;
    return new Promise<T>((resolve, reject) => {
      const settle = (error: unknown, value?: T) => {
        if (!this.#aborts.delete(abort)) return;
        cancelTimer();
        if (error === undefined) {
          this.#succeeded();
          resolve(value as T);
        } else {
          if (!(error instanceof StoreGuardClosedError)) this.#failed(error);
          reject(error);
        }
      };
      const abort = () => settle(new StoreGuardClosedError());
      this.#aborts.add(abort);
      const cancelTimer = this.#clock.setTimeout(
        () => settle(new StoreTimeoutError(timeoutMs)),
        timeoutMs,
      );
      // Through a promise so a store that throws synchronously is caught too.
      Promise.resolve().then(operation).then(
        (value) => settle(undefined, value),
        (error) => settle(error ?? new Error("Breaker store call failed")),
      );
    });
  }

  /** Cancels every timer and rejects the calls still out. */
  close(): void {
    this.#closed = true;
    for (const abort of [...this.#aborts]) abort();
  }

  #succeeded(): void {
    this.#health.healthy = true;
    this.#health.since = null;
  }

  #failed(error: unknown): void {
    const first = this.#health.healthy;
    this.#health.errors++;
    this.#health.lastError = error instanceof Error
      ? error.message
      : String(error);
    if (first) {
      this.#health.healthy = false;
      this.#health.since = this.#clock.now();
    }
    this.#onError?.(error, first);
  }
}

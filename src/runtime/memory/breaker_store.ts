/**
 * An in-process breaker store with compare-and-set and expiry, for tests and
 * single-process use. Values are copied in and out, as a real store would
 * serialise them, so no caller can change what another reads.
 */

import type {
  AtomicBreakerStore,
  StoreCheck,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";
import { type Clock, systemClock } from "../../resilience/clock.ts";

interface StoredEntry extends VersionedValue {
  /** Epoch ms after which the entry reads as absent; `null`: never. */
  expiresAt: number | null;
}

/**
 * A {@linkcode AtomicBreakerStore} in memory. Share one instance between
 * boards to simulate instances sharing a store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBreakerStore } from "./breaker_store.ts";
 *
 * const store = new MemoryBreakerStore();
 * const open = { state: "open", epoch: 1, changedAt: 0, openUntil: 30_000, forced: false } as const;
 * // Write only if the key is still absent: the first instance wins ...
 * assert.equal(await store.commit([{ key: "users", version: null }], [{ key: "users", value: open }]), true);
 * // ... and a second one, checking the same, learns it lost.
 * assert.equal(await store.commit([{ key: "users", version: null }], [{ key: "users", value: open }]), false);
 * const [stored] = await store.get(["users"]);
 * assert.deepEqual(stored?.value, open);
 * ```
 */
export class MemoryBreakerStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  readonly #clock: Clock;
  readonly #entries = new Map<string, StoredEntry>();
  readonly #counters = new Map<string, { count: number; expiresAt: number }>();
  #nextVersion = 1;
  /** Expired counters are dropped at most once per second, so memory tracks live windows only. */
  #nextCounterSweepAt = Number.NEGATIVE_INFINITY;

  /** `clock` decides expiry (default: the system clock). */
  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    return Promise.resolve(keys.map((key) => {
      const entry = this.#live(key);
      return entry === null
        ? null
        : { value: structuredClone(entry.value), version: entry.version };
    }));
  }

  set(write: StoreWrite): Promise<void> {
    this.#write(write);
    return Promise.resolve();
  }

  commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    const holds = checks.every((check) =>
      (this.#live(check.key)?.version ?? null) === check.version
    );
    if (holds) writes.forEach((write) => this.#write(write));
    return Promise.resolve(holds);
  }

  increment(key: string, options: { expireInMs: number }): Promise<number> {
    const now = this.#clock.now();
    if (now >= this.#nextCounterSweepAt) {
      this.#nextCounterSweepAt = now + 1000;
      for (const [stale, { expiresAt }] of this.#counters) {
        if (expiresAt <= now) this.#counters.delete(stale);
      }
    }
    let counter = this.#counters.get(key);
    if (counter === undefined || counter.expiresAt <= now) {
      counter = { count: 0, expiresAt: now + options.expireInMs };
      this.#counters.set(key, counter);
    }
    return Promise.resolve(++counter.count);
  }

  #live(key: string): StoredEntry | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return null;
    }
    return entry;
  }

  #write(write: StoreWrite): void {
    this.#entries.set(write.key, {
      value: structuredClone(write.value),
      version: String(this.#nextVersion++),
      expiresAt: write.expireInMs === undefined
        ? null
        : this.#clock.now() + write.expireInMs,
    });
  }
}

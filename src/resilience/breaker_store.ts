/**
 * The port through which gateway instances share state (breakers, probe
 * leases, fleet rate-limit counters). Keys are opaque strings chosen by the
 * caller; adapters map them to their store's key space. Values travel as
 * plain JSON-safe objects (a breaker's state, a half-open probe lease, a
 * route's health-check record — see `balance/health_check.ts` — and
 * whatever other kinds callers add), so a backend that serialises them
 * (Redis: JSON) holds any kind without knowing it. Counters are a separate
 * key space of integers, only touched by `increment`.
 */

import type { BreakerState } from "./breaker_merge.ts";

/** A half-open probe slot taken by one instance, until `until` (epoch ms). */
export interface ProbeLease {
  /** The half-open epoch the lease belongs to; a lease of another epoch is free. */
  epoch: number;
  /** The board that holds it. */
  holder: string;
  /** The lease ends then (epoch ms), held or not. */
  until: number;
  /** The probe came back healthy; the slot stays taken for this epoch. */
  succeeded: boolean;
}

/** One upstream's active health-check verdict and the run of probes behind it. */
export interface UpstreamHealth {
  /** The verdict: whether the pool may send it traffic. */
  healthy: boolean;
  /** Probes passed in a row (0 after a failure). */
  passes: number;
  /** Probes failed in a row (0 after a pass). */
  failures: number;
  /** When it was last probed (epoch ms). */
  checkedAt: number;
}

/** A route's health checks: every upstream's verdict and the probing lease. */
export interface HealthRecord {
  /** Tells it from a breaker state or probe lease. */
  kind: "health";
  /** The instance holding the probing lease, until `leaseUntil`. */
  prober: string;
  /** When the probing lease ends (epoch ms). */
  leaseUntil: number;
  /** By upstream URL. */
  upstreams: Record<string, UpstreamHealth>;
}

/** What a store holds under one key. */
export type BreakerStoreValue = BreakerState | ProbeLease | HealthRecord;

/** A value with the version a compare-and-set checks against. */
export interface VersionedValue {
  /** What the key holds. */
  value: BreakerStoreValue;
  /** Opaque; changes on every write of the key. */
  version: string;
}

/** One write; `expireInMs` lets the store delete it after at least that long. */
export interface StoreWrite {
  /** The key written. */
  key: string;
  /** The value written. */
  value: BreakerStoreValue;
  /** The store may delete the key after at least this long; absent: never. */
  expireInMs?: number;
}

/** A precondition: the key is still at `version` (`null`: still absent). */
export interface StoreCheck {
  /** The key checked. */
  key: string;
  /** The version it must still have; `null`: it must still be absent. */
  version: string | null;
}

/** What every breaker store does: read keys, write one unconditionally. */
export interface BreakerStoreBase {
  /** The current values of `keys`, in order, `null` where absent or expired. */
  get(keys: readonly string[]): Promise<(VersionedValue | null)[]>;
  /** Unconditional write (last writer wins). */
  set(write: StoreWrite): Promise<void>;
}

/** A store with compare-and-set (Deno KV, memory): transitions never overwrite a newer state. */
export interface AtomicBreakerStore extends BreakerStoreBase {
  /** Has compare-and-set (`commit`). */
  readonly capabilities: { atomic: true };
  /**
   * Applies every write only if every check holds, all at once; `false`
   * when a check failed (someone else wrote first).
   */
  commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean>;
  /**
   * Adds one to the counter `key` and returns its new value, atomically
   * across every instance (fleet rate limits: one counter per client and
   * window). A counter that does not exist starts at 0 and is deleted at
   * least `expireInMs` after that first increment; later increments do not
   * extend it. Counters never show up in `get`.
   */
  increment(key: string, options: { expireInMs: number }): Promise<number>;
}

/** A store without compare-and-set (Workers KV): shared state is a hint. */
export interface AdvisoryBreakerStore extends BreakerStoreBase {
  /** No compare-and-set; writes may take `writeDelayMs` to be seen. */
  readonly capabilities: {
    atomic: false;
    /** A write may wait this long (debouncing); the board's timeout adds it. */
    writeDelayMs: number;
  };
}

/**
 * Where breaker state is shared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BreakerStore, isAtomicStore } from "./breaker_store.ts";
 * import { MemoryBreakerStore } from "../runtime/memory/breaker_store.ts";
 * const store: BreakerStore = new MemoryBreakerStore();
 * assert.equal(isAtomicStore(store), true);
 * ```
 */
export type BreakerStore = AtomicBreakerStore | AdvisoryBreakerStore;

/** Tells a probe lease from a breaker state. */
export function isProbeLease(value: BreakerStoreValue): value is ProbeLease {
  return "holder" in value;
}

/** Tells a breaker state from a probe lease. */
export function isBreakerState(
  value: BreakerStoreValue | undefined,
): value is BreakerState {
  return value !== undefined && "state" in value;
}

/** Whether `store` offers compare-and-set. */
export function isAtomicStore(
  store: BreakerStore,
): store is AtomicBreakerStore {
  return store.capabilities.atomic;
}

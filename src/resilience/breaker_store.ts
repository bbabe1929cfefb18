/**
 * The port through which breaker boards of different instances share state.
 * Keys are opaque strings chosen by the board; adapters map them to their
 * store's key space. Two kinds of values travel: a breaker's state (one key
 * per route × upstream) and half-open probe leases (one key per probe slot).
 */

import type { BreakerState } from "./breaker_merge.ts";

/** A half-open probe slot taken by one instance, until `until` (epoch ms). */
export interface ProbeLease {
  /** The half-open epoch the lease belongs to; a lease of another epoch is free. */
  epoch: number;
  /** The board that holds it. */
  holder: string;
  until: number;
  /** The probe came back healthy; the slot stays taken for this epoch. */
  succeeded: boolean;
}

/** What a store holds under one key. */
export type BreakerStoreValue = BreakerState | ProbeLease;

/** A value with the version a compare-and-set checks against. */
export interface VersionedValue {
  value: BreakerStoreValue;
  /** Opaque; changes on every write of the key. */
  version: string;
}

/** One write; `expireInMs` lets the store delete it after at least that long. */
export interface StoreWrite {
  key: string;
  value: BreakerStoreValue;
  expireInMs?: number;
}

/** A precondition: the key is still at `version` (`null`: still absent). */
export interface StoreCheck {
  key: string;
  version: string | null;
}

interface BreakerStoreBase {
  /** The current values of `keys`, in order, `null` where absent or expired. */
  get(keys: readonly string[]): Promise<(VersionedValue | null)[]>;
  /** Unconditional write (last writer wins). */
  set(write: StoreWrite): Promise<void>;
}

/** A store with compare-and-set (Deno KV, memory): transitions never overwrite a newer state. */
export interface AtomicBreakerStore extends BreakerStoreBase {
  readonly capabilities: { atomic: true };
  /**
   * Applies every write only if every check holds, all at once; `false`
   * when a check failed (someone else wrote first).
   */
  commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean>;
}

/** A store without compare-and-set (Workers KV): shared state is a hint. */
export interface AdvisoryBreakerStore extends BreakerStoreBase {
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
 * ```ts ignore
 * const board = new BreakerBoard({ clock: systemClock, store: new MemoryBreakerStore() });
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

/**
 * Breaker state in Workers KV (binding `GATEWAY_KV`): advisory sharing.
 *
 * ## Consistency on Workers KV (for the README)
 *
 * Workers KV is eventually consistent, takes at most one write per second
 * per key (more fail with 429), has no compare-and-set, and expires keys no
 * sooner than 60 s. So on Workers the shared breaker state is a *hint*:
 *
 * - Only transitions are written (never per-request counts), at most one
 *   write per second per breaker: a second transition within that second is
 *   held back and coalesced (the latest state wins).
 * - The value carries the state, its epoch and `openUntil`, so a reader
 *   that sees an open late still knows when it ends; a stale open reads as
 *   ready for half-open. Keys expire one day after their last transition
 *   (longer for a long open), so abandoned breakers disappear.
 * - Staleness bound: another isolate sees a transition after the write
 *   delay (≤ 1 s) + KV propagation (up to ~60 s to other locations,
 *   usually far less) + its read cache (`cacheTtl`, 30 s) + its sync
 *   interval (10 s by default): about 40 s in the same location and
 *   100 s worst case elsewhere.
 * - What it means for users: until the hint arrives each isolate judges
 *   the upstream alone, so a failing upstream receives up to `minCalls`
 *   failing calls per isolate before that isolate opens, and half-open
 *   probes are counted per isolate (up to `halfOpenProbes` each, not in
 *   total). Writes race without compare-and-set; readers keep the state
 *   with the higher epoch, so an older state never replaces a newer one
 *   they have seen.
 * - Strict sharing (one global probe allowance, opens seen within about a
 *   second) is what the Durable Object store gives
 *   (`durable_breaker_store.ts`, binding `GATEWAY_BREAKERS`); the Workers
 *   entry prefers it when bound and falls back to this store.
 */

import type {
  AdvisoryBreakerStore,
  BreakerStoreValue,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";
import { type Clock, systemClock } from "../../resilience/clock.ts";

/** The part of a Workers KV namespace binding this store uses. */
export interface WorkersKvNamespace {
  /** Reads a JSON value; `null` when absent. */
  get(
    key: string,
    options: { type: "json"; cacheTtl?: number },
  ): Promise<unknown>;
  /** Writes a value, optionally expiring after `expirationTtl` seconds. */
  put(
    key: string,
    value: string,
    options?: { expirationTtl?: number },
  ): Promise<void>;
}

export interface WorkersKvBreakerStoreOptions {
  /** Time for debouncing and expiry (default: the system clock). */
  clock?: Clock;
  /** Edge read cache in seconds (Workers KV allows 30 or more; default 30). */
  cacheTtlSeconds?: number;
  /** Prefix of every key (default `gateway:breaker:`). */
  keyPrefix?: string;
}

/** Workers KV takes one write per second per key. */
const MIN_WRITE_INTERVAL_MS = 1000;
/** Workers KV expires keys no sooner than this. */
const MIN_TTL_SECONDS = 60;
/** How long a breaker's state outlives its last transition. */
const RETAIN_SECONDS = 86_400;

interface HeldWrite {
  write: StoreWrite;
  waiters: Array<{ resolve(): void; reject(error: unknown): void }>;
  cancel(): void;
}

/**
 * An {@linkcode AdvisoryBreakerStore} on a Workers KV binding.
 *
 * @example
 * ```ts ignore
 * const store = new WorkersKvBreakerStore(env.GATEWAY_KV);
 * const board = new BreakerBoard({ clock: systemClock, store, waitUntil: (p) => ctx.waitUntil(p) });
 * ```
 */
export class WorkersKvBreakerStore implements AdvisoryBreakerStore {
  readonly capabilities = {
    atomic: false,
    writeDelayMs: MIN_WRITE_INTERVAL_MS,
  } as const;
  readonly #kv: WorkersKvNamespace;
  readonly #clock: Clock;
  readonly #cacheTtl: number;
  readonly #prefix: string;
  readonly #lastWriteAt = new Map<string, number>();
  readonly #held = new Map<string, HeldWrite>();

  /** A store on the `kv` namespace binding. */
  constructor(
    kv: WorkersKvNamespace,
    options: WorkersKvBreakerStoreOptions = {},
  ) {
    this.#kv = kv;
    this.#clock = options.clock ?? systemClock;
    this.#cacheTtl = Math.max(30, options.cacheTtlSeconds ?? 30);
    this.#prefix = options.keyPrefix ?? "gateway:breaker:";
  }

  get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    return Promise.all(keys.map(async (key) => {
      const value = await this.#kv.get(this.#prefix + key, {
        type: "json",
        cacheTtl: this.#cacheTtl,
      }) as BreakerStoreValue | null;
      // Without compare-and-set a version means nothing; the epoch orders states.
      return value === null ? null : { value, version: "" };
    }));
  }

  /** Writes now, or (within a second of the key's last write) coalesced into one held write. */
  set(write: StoreWrite): Promise<void> {
    const held = this.#held.get(write.key);
    if (held !== undefined) {
      held.write = write;
      return new Promise((resolve, reject) =>
        held.waiters.push({ resolve, reject })
      );
    }
    const last = this.#lastWriteAt.get(write.key) ?? Number.NEGATIVE_INFINITY;
    const waitMs = last + MIN_WRITE_INTERVAL_MS - this.#clock.now();
    if (waitMs <= 0) return this.#put(write);
    return new Promise((resolve, reject) => {
      const cancel = this.#clock.setTimeout(
        () => this.#flush(write.key),
        waitMs,
      );
      this.#held.set(write.key, {
        write,
        waiters: [{ resolve, reject }],
        cancel,
      });
    });
  }

  /** Drops held writes (their promises reject) and their timers. */
  close(): void {
    for (const held of this.#held.values()) {
      held.cancel();
      const error = new Error(
        "Cannot write the breaker state as the store is closed",
      );
      held.waiters.forEach((waiter) => waiter.reject(error));
    }
    this.#held.clear();
  }

  #flush(key: string): void {
    const held = this.#held.get(key);
    if (held === undefined) return;
    this.#held.delete(key);
    this.#put(held.write).then(
      () => held.waiters.forEach((waiter) => waiter.resolve()),
      (error) => held.waiters.forEach((waiter) => waiter.reject(error)),
    );
  }

  #put(write: StoreWrite): Promise<void> {
    const now = this.#clock.now();
    this.#lastWriteAt.set(write.key, now);
    return this.#kv.put(this.#prefix + write.key, JSON.stringify(write.value), {
      expirationTtl: this.#ttlSeconds(write, now),
    });
  }

  #ttlSeconds(write: StoreWrite, now: number): number {
    const { value } = write;
    const openFor = "state" in value && value.openUntil !== null
      ? Math.max(0, value.openUntil - now)
      : 0;
    const wanted = write.expireInMs ?? (openFor + RETAIN_SECONDS * 1000);
    return Math.max(MIN_TTL_SECONDS, Math.ceil(wanted / 1000));
  }
}

/**
 * Breaker state in Deno KV: a local file (`GATEWAY_KV_PATH`) shared by every
 * gateway process on the machine, or the platform KV on Deno Deploy.
 * Compare-and-set through `atomic().check()`, so concurrent instances never
 * overwrite a newer state, and probe leases with `expireIn`.
 */

import type {
  AtomicBreakerStore,
  BreakerStoreValue,
  StoreCheck,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";

/** Deno KV reads at most this many keys per `getMany`. */
const MAX_KEYS_PER_READ = 10;

/**
 * Several processes on one KV file contend for SQLite's write lock, which
 * Deno KV reports as "database is locked" at once; such a call is retried
 * after a short pause this many times (the board's store timeout still
 * bounds the whole call).
 */
const LOCKED_RETRIES = 8;
const LOCKED_PAUSE_MS = 5;

/** Where the gateway's breaker keys live in the KV key space. */
const KEY_PREFIX = ["gateway", "breaker"] as const;
/** Where `increment`'s counters live: apart, so `get` never meets one. */
const COUNTER_PREFIX = ["gateway", "counter"] as const;
/**
 * Compare-and-set rounds an increment may lose to other instances before it
 * fails (a failure falls back to the local limit): even 32 instances hitting
 * one client's counter at once get through.
 */
const MAX_INCREMENT_ATTEMPTS = 32;

/**
 * A {@linkcode AtomicBreakerStore} on Deno KV.
 *
 * @example
 * ```ts ignore
 * const store = await DenoKvBreakerStore.open(Deno.env.get("GATEWAY_KV_PATH"));
 * const board = new BreakerBoard({ clock: systemClock, store, autoSync: true });
 * // ... on shutdown:
 * await board.close();
 * store.close();
 * ```
 */
export class DenoKvBreakerStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  readonly #kv: Deno.Kv;
  readonly #ownsKv: boolean;

  /** Uses an opened KV; `close()` then leaves it open for its owner. */
  constructor(kv: Deno.Kv, options: { ownsKv?: boolean } = {}) {
    this.#kv = kv;
    this.#ownsKv = options.ownsKv ?? false;
  }

  /** Opens the KV at `path` (no path: the platform's default KV); `close()` closes it. */
  static async open(path?: string): Promise<DenoKvBreakerStore> {
    return new DenoKvBreakerStore(await openKv(path), { ownsKv: true });
  }

  async get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    const results: (VersionedValue | null)[] = [];
    for (let start = 0; start < keys.length; start += MAX_KEYS_PER_READ) {
      const chunk = keys.slice(start, start + MAX_KEYS_PER_READ);
      const entries = await whileLocked(() =>
        this.#kv.getMany<BreakerStoreValue[]>(chunk.map(kvKey))
      );
      for (const entry of entries) {
        results.push(
          entry.versionstamp === null
            ? null
            : { value: entry.value, version: entry.versionstamp },
        );
      }
    }
    return results;
  }

  async set(write: StoreWrite): Promise<void> {
    await whileLocked(() =>
      this.#kv.set(kvKey(write.key), write.value, expireIn(write))
    );
  }

  async commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    const result = await whileLocked(() => {
      const operation = this.#kv.atomic();
      for (const check of checks) {
        operation.check({
          key: kvKey(check.key),
          versionstamp: check.version,
        });
      }
      for (const write of writes) {
        operation.set(kvKey(write.key), write.value, expireIn(write));
      }
      return operation.commit();
    });
    return result.ok;
  }

  /**
   * A compare-and-set increment: read the count and its versionstamp, write
   * count + 1 if the versionstamp still holds, else read again. Not
   * `atomic().sum()`: a sum neither returns the new count (a read after it
   * may include later increments, which would refuse requests that fit) nor
   * takes `expireIn` (every window's counter would stay in the file).
   */
  async increment(
    key: string,
    options: { expireInMs: number },
  ): Promise<number> {
    const kvKeyOfCounter = [...COUNTER_PREFIX, key];
    for (let attempt = 0; attempt < MAX_INCREMENT_ATTEMPTS; attempt++) {
      const entry = await whileLocked(() =>
        this.#kv.get<{ count: number; expiresAt: number }>(kvKeyOfCounter)
      );
      const now = Date.now();
      // `expireIn` is a lower bound on deletion: an expired counter may linger.
      const live = entry.value !== null && entry.value.expiresAt > now;
      const expiresAt = live
        ? entry.value!.expiresAt
        : now + options.expireInMs;
      const count = (live ? entry.value!.count : 0) + 1;
      const result = await whileLocked(() =>
        this.#kv.atomic().check(entry).set(kvKeyOfCounter, {
          count,
          expiresAt,
        }, { expireIn: Math.max(1, expiresAt - now) }).commit()
      );
      if (result.ok) return count;
    }
    throw new Error(
      `Cannot increment the counter as ${MAX_INCREMENT_ATTEMPTS} compare-and-set rounds were lost: current value is "${key}"`,
    );
  }

  /** Closes the KV if this store opened it. */
  close(): void {
    if (this.#ownsKv) this.#kv.close();
  }
}

function kvKey(key: string): Deno.KvKey {
  return [...KEY_PREFIX, key];
}

function expireIn(write: StoreWrite): { expireIn?: number } {
  return write.expireInMs === undefined ? {} : { expireIn: write.expireInMs };
}

/**
 * `Deno.openKv`, retried while another process holds the file's lock:
 * instances started together (`deno serve --parallel`, a rollout) race to
 * create the same new KV file, and the losers see "database is locked".
 */
export function openKv(path?: string): Promise<Deno.Kv> {
  return whileLocked(() => Deno.openKv(path));
}

/** Runs `operation`, again after a pause while the KV file is locked by another process. */
async function whileLocked<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const locked = error instanceof Error &&
        error.message.includes("database is locked");
      if (!locked || attempt > LOCKED_RETRIES) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, LOCKED_PAUSE_MS * attempt)
      );
    }
  }
}

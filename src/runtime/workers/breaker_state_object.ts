/**
 * The Durable Object behind {@linkcode DurableBreakerStore}: one instance per
 * gateway (`idFromName("breakers")`) holds every breaker state and probe
 * lease. A Durable Object runs one request at a time and its storage is
 * strongly consistent, so `commit` (checks and writes in one storage
 * transaction) is an exact compare-and-set across every isolate.
 *
 * Versions come from one counter per object, kept in storage: a version is
 * never handed out twice, so a key that expired and was written again can
 * never match a check made against its earlier life (with a counter per key
 * that restarts when an expired key is purged, it could).
 *
 * Expiry: a value written with `expireInMs` reads as absent from then on;
 * an alarm at the earliest expiry deletes it from storage.
 *
 * Protocol (POST, JSON both ways, through the object's `fetch`):
 * `/get` {@linkcode GetBody} → {@linkcode GetReply}, `/set`
 * {@linkcode SetBody} → `{}`, `/commit` {@linkcode CommitBody} →
 * {@linkcode CommitReply}, `/increment` {@linkcode IncrementBody} →
 * {@linkcode IncrementReply}; a malformed body gets 400, an unknown path 404.
 *
 * @module
 */

import type {
  BreakerStoreValue,
  StoreCheck,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";
import { type Clock, systemClock } from "../../resilience/clock.ts";

/** `/get` request body. */
export interface GetBody {
  keys: string[];
}
/** `/get` reply: the values of `keys` in order, `null` where absent or expired. */
export interface GetReply {
  values: (VersionedValue | null)[];
}
/** `/set` request body. */
export interface SetBody {
  write: StoreWrite;
}
/** `/commit` request body. */
export interface CommitBody {
  checks: StoreCheck[];
  writes: StoreWrite[];
}
/** `/commit` reply: whether every check held (and so every write applied). */
export interface CommitReply {
  ok: boolean;
}
/** `/increment` request body. */
export interface IncrementBody {
  key: string;
  expireInMs: number;
}
/** `/increment` reply: the counter's new value. */
export interface IncrementReply {
  count: number;
}

/** The storage operations a transaction offers (a subset of Workers' `DurableObjectTransaction`). */
export interface BreakerObjectTransaction {
  get<T>(keys: string[]): Promise<Map<string, T>>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T>(options: { prefix: string }): Promise<Map<string, T>>;
}

/** The part of Workers' `DurableObjectStorage` the object uses. */
export interface BreakerObjectStorage {
  transaction<T>(
    closure: (txn: BreakerObjectTransaction) => Promise<T>,
  ): Promise<T>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number): Promise<void>;
}

/** The part of Workers' `DurableObjectState` the object uses. */
export interface BreakerObjectState {
  storage: BreakerObjectStorage;
}

/** What the object keeps under one breaker key. */
interface StoredRecord {
  value: BreakerStoreValue;
  version: number;
  /** Epoch ms from which the record reads as absent; `null`: never. */
  expiresAt: number | null;
}

/** Workers' storage takes at most this many keys per `get`, `put` or `delete`. */
const MAX_KEYS_PER_CALL = 128;
/** Storage key of the version counter; breaker keys live under {@linkcode RECORD_PREFIX}. */
const VERSION_COUNTER_KEY = "version-counter";
const RECORD_PREFIX = "breaker:";
/** `increment`'s counters: apart from the records, so `get` never meets one. */
const COUNTER_PREFIX = "counter:";

/** What the object keeps under one counter key. */
interface StoredCounter {
  count: number;
  expiresAt: number;
}

/**
 * The Durable Object class (export it from the Worker's entry and bind it as
 * `GATEWAY_BREAKERS`). Workers constructs it with `(state, env)`; tests pass
 * a fake state and clock.
 *
 * @example
 * ```ts ignore
 * // deploy/workers/worker.ts
 * export { BreakerStateObject } from "../../src/runtime/workers/breaker_state_object.ts";
 * ```
 */
export class BreakerStateObject {
  readonly #storage: BreakerObjectStorage;
  readonly #clock: Clock;

  /** Workers constructs it with the object's state; `clock` is for tests. */
  constructor(state: BreakerObjectState, _env?: unknown, clock?: Clock) {
    this.#storage = state.storage;
    this.#clock = clock ?? systemClock;
  }

  /** Serves the protocol in the module doc. */
  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST") return reply({ error: "POST only" }, 405);
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return reply({ error: "body is not JSON" }, 400);
    }
    const path = new URL(request.url).pathname;
    if (path === "/get" && isGetBody(body)) {
      return reply({ values: await this.get(body.keys) } satisfies GetReply);
    }
    if (path === "/set" && isSetBody(body)) {
      await this.commit([], [body.write]);
      return reply({});
    }
    if (path === "/commit" && isCommitBody(body)) {
      const ok = await this.commit(body.checks, body.writes);
      return reply({ ok } satisfies CommitReply);
    }
    if (path === "/increment" && isIncrementBody(body)) {
      const count = await this.increment(body.key, body.expireInMs);
      return reply({ count } satisfies IncrementReply);
    }
    return ["/get", "/set", "/commit", "/increment"].includes(path)
      ? reply({ error: `malformed body for ${path}` }, 400)
      : reply({ error: "no such operation" }, 404);
  }

  /** The live values of `keys`, in order. */
  get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    return this.#storage.transaction(async (txn) => {
      const records = await readRecords(txn, keys);
      const now = this.#clock.now();
      return keys.map((key) => {
        const record = live(records.get(key), now);
        return record === null
          ? null
          : { value: record.value, version: String(record.version) };
      });
    });
  }

  /** Applies `writes` only if every check holds, in one storage transaction. */
  async commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    const now = this.#clock.now();
    const written = await this.#storage.transaction(async (txn) => {
      const records = await readRecords(txn, checks.map((check) => check.key));
      const holds = checks.every((check) =>
        versionOf(live(records.get(check.key), now)) === check.version
      );
      if (!holds) return null;
      const counter = await txn.get<number>([VERSION_COUNTER_KEY]);
      let version = counter.get(VERSION_COUNTER_KEY) ?? 0;
      const entries: Record<string, StoredRecord | number> = {};
      for (const write of writes) {
        entries[RECORD_PREFIX + write.key] = {
          value: write.value,
          version: ++version,
          expiresAt: write.expireInMs === undefined
            ? null
            : now + write.expireInMs,
        };
      }
      entries[VERSION_COUNTER_KEY] = version;
      await putInChunks(txn, entries);
      return writes;
    });
    if (written === null) return false;
    await this.#purgeNoLaterThan(earliestExpiry(written, now));
    return true;
  }

  /** Adds one to the counter `key` (created with `expireInMs` to live); the new count. */
  async increment(key: string, expireInMs: number): Promise<number> {
    const now = this.#clock.now();
    const counter = await this.#storage.transaction(async (txn) => {
      const storageKey = COUNTER_PREFIX + key;
      const found = (await txn.get<StoredCounter>([storageKey])).get(
        storageKey,
      );
      const next: StoredCounter = found !== undefined && found.expiresAt > now
        ? { count: found.count + 1, expiresAt: found.expiresAt }
        : { count: 1, expiresAt: now + expireInMs };
      await txn.put({ [storageKey]: next });
      return next;
    });
    if (counter.count === 1) await this.#purgeNoLaterThan(counter.expiresAt);
    return counter.count;
  }

  /** Deletes expired records and counters and sets the alarm for the next expiry. */
  async alarm(): Promise<void> {
    const next = await this.#storage.transaction(async (txn) => {
      const now = this.#clock.now();
      const records = new Map<string, { expiresAt: number | null }>([
        ...await txn.list<StoredRecord>({ prefix: RECORD_PREFIX }),
        ...await txn.list<StoredCounter>({ prefix: COUNTER_PREFIX }),
      ]);
      const expired: string[] = [];
      let next: number | null = null;
      for (const [storageKey, record] of records) {
        if (record.expiresAt === null) continue;
        if (record.expiresAt <= now) expired.push(storageKey);
        else next = Math.min(next ?? Infinity, record.expiresAt);
      }
      for (let start = 0; start < expired.length; start += MAX_KEYS_PER_CALL) {
        await txn.delete(expired.slice(start, start + MAX_KEYS_PER_CALL));
      }
      return next;
    });
    await this.#purgeNoLaterThan(next);
  }

  /** Moves the alarm earlier when a record expires before it fires. */
  async #purgeNoLaterThan(expiresAt: number | null): Promise<void> {
    if (expiresAt === null) return;
    const alarm = await this.#storage.getAlarm();
    if (alarm === null || alarm > expiresAt) {
      await this.#storage.setAlarm(expiresAt);
    }
  }
}

async function readRecords(
  txn: BreakerObjectTransaction,
  keys: readonly string[],
): Promise<Map<string, StoredRecord>> {
  const records = new Map<string, StoredRecord>();
  for (let start = 0; start < keys.length; start += MAX_KEYS_PER_CALL) {
    const chunk = keys.slice(start, start + MAX_KEYS_PER_CALL);
    const found = await txn.get<StoredRecord>(
      chunk.map((key) => RECORD_PREFIX + key),
    );
    for (const [storageKey, record] of found) {
      records.set(storageKey.slice(RECORD_PREFIX.length), record);
    }
  }
  return records;
}

async function putInChunks(
  txn: BreakerObjectTransaction,
  entries: Record<string, unknown>,
): Promise<void> {
  const pairs = Object.entries(entries);
  for (let start = 0; start < pairs.length; start += MAX_KEYS_PER_CALL) {
    await txn.put(
      Object.fromEntries(pairs.slice(start, start + MAX_KEYS_PER_CALL)),
    );
  }
}

function live(
  record: StoredRecord | undefined,
  now: number,
): StoredRecord | null {
  if (record === undefined) return null;
  return record.expiresAt !== null && record.expiresAt <= now ? null : record;
}

function versionOf(record: StoredRecord | null): string | null {
  return record === null ? null : String(record.version);
}

function earliestExpiry(
  writes: readonly StoreWrite[],
  now: number,
): number | null {
  const expiries = writes.flatMap((write) =>
    write.expireInMs === undefined ? [] : [now + write.expireInMs]
  );
  return expiries.length === 0 ? null : Math.min(...expiries);
}

function reply(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((key) => typeof key === "string");
}

function isWrite(value: unknown): value is StoreWrite {
  return isObject(value) && typeof value.key === "string" &&
    isObject(value.value) &&
    (value.expireInMs === undefined ||
      (typeof value.expireInMs === "number" && value.expireInMs >= 0));
}

function isCheck(value: unknown): value is StoreCheck {
  return isObject(value) && typeof value.key === "string" &&
    (value.version === null || typeof value.version === "string");
}

function isGetBody(body: unknown): body is GetBody {
  return isObject(body) && isStringArray(body.keys);
}

function isSetBody(body: unknown): body is SetBody {
  return isObject(body) && isWrite(body.write);
}

function isIncrementBody(body: unknown): body is IncrementBody {
  return isObject(body) && typeof body.key === "string" &&
    typeof body.expireInMs === "number" && body.expireInMs > 0;
}

function isCommitBody(body: unknown): body is CommitBody {
  return isObject(body) && Array.isArray(body.checks) &&
    body.checks.every(isCheck) && Array.isArray(body.writes) &&
    body.writes.every(isWrite);
}

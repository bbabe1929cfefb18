/**
 * A stand-in for Workers' `DurableObjectState` in unit tests: storage is an
 * in-memory map whose values are structured-cloned in and out (as the real
 * storage serialises them), transactions run one at a time (as a Durable
 * Object's input gate makes them) and apply their writes only when the
 * closure resolves, and the alarm is a plain field the test fires by hand.
 */

import type { FakeClock } from "../../_fixtures/fake_clock.ts";
import {
  type BreakerObjectState,
  type BreakerObjectStorage,
  type BreakerObjectTransaction,
  BreakerStateObject,
} from "../../../src/runtime/workers/breaker_state_object.ts";
import type { BreakerObjectNamespace } from "../../../src/runtime/workers/durable_breaker_store.ts";

/** Workers rejects storage calls over this many keys; so does the fake. */
const MAX_KEYS_PER_CALL = 128;

/** A fake `DurableObjectState` with its storage exposed for assertions. */
export class FakeDurableObjectState implements BreakerObjectState {
  readonly storage = new FakeDurableStorage();
}

/** In-memory `DurableObjectStorage` (the subset the breaker object uses). */
export class FakeDurableStorage implements BreakerObjectStorage {
  /** Committed data, by storage key. */
  readonly data = new Map<string, unknown>();
  alarmAt: number | null = null;
  /** Transactions run so far. */
  transactions = 0;
  #queue: Promise<unknown> = Promise.resolve();

  transaction<T>(
    closure: (txn: BreakerObjectTransaction) => Promise<T>,
  ): Promise<T> {
    const run = this.#queue.then(() => this.#run(closure));
    this.#queue = run.catch(() => {});
    return run;
  }

  list<T>(options: { prefix: string }): Promise<Map<string, T>> {
    return Promise.resolve(listFrom<T>(this.data, options.prefix));
  }

  getAlarm(): Promise<number | null> {
    return Promise.resolve(this.alarmAt);
  }

  setAlarm(scheduledTime: number): Promise<void> {
    this.alarmAt = scheduledTime;
    return Promise.resolve();
  }

  async #run<T>(
    closure: (txn: BreakerObjectTransaction) => Promise<T>,
  ): Promise<T> {
    this.transactions++;
    // Writes land in `pending` (undefined: deleted) and reach `data` only if
    // the closure resolves.
    const pending = new Map<string, unknown>();
    const view = () => {
      const merged = new Map(this.data);
      for (const [key, value] of pending) {
        if (value === undefined) merged.delete(key);
        else merged.set(key, value);
      }
      return merged;
    };
    const txn: BreakerObjectTransaction = {
      get<V>(keys: string[]) {
        limit(keys.length);
        const current = view();
        const found = new Map<string, V>();
        for (const key of keys) {
          if (current.has(key)) {
            found.set(key, structuredClone(current.get(key)) as V);
          }
        }
        return Promise.resolve(found);
      },
      put<V>(entries: Record<string, V>) {
        limit(Object.keys(entries).length);
        for (const [key, value] of Object.entries(entries)) {
          pending.set(key, structuredClone(value));
        }
        return Promise.resolve();
      },
      delete(keys: string[]) {
        limit(keys.length);
        const current = view();
        const deleted = keys.filter((key) => current.has(key));
        for (const key of keys) pending.set(key, undefined);
        return Promise.resolve(deleted.length);
      },
      list<V>(options: { prefix: string }) {
        return Promise.resolve(listFrom<V>(view(), options.prefix));
      },
    };
    const result = await closure(txn);
    for (const [key, value] of pending) {
      if (value === undefined) this.data.delete(key);
      else this.data.set(key, value);
    }
    return result;
  }
}

function listFrom<T>(
  data: Map<string, unknown>,
  prefix: string,
): Map<string, T> {
  const keys = [...data.keys()].filter((key) => key.startsWith(prefix)).sort();
  return new Map(
    keys.map((key) => [key, structuredClone(data.get(key)) as T]),
  );
}

function limit(count: number): void {
  if (count > MAX_KEYS_PER_CALL) {
    throw new RangeError(
      `Cannot touch ${count} keys in one storage call: the limit is ${MAX_KEYS_PER_CALL}`,
    );
  }
}

/**
 * A namespace whose stubs hand requests to objects in this process, one per
 * name, the way Workers routes a stub's `fetch` to the object's.
 */
export class FakeNamespace implements BreakerObjectNamespace<string> {
  readonly objects = new Map<string, BreakerStateObject>();
  stubsMade = 0;
  /** When set, every call answers this status instead of reaching the object. */
  failWith: number | null = null;

  constructor(readonly clock: FakeClock) {}

  idFromName(name: string): string {
    return `id:${name}`;
  }

  get(id: string) {
    this.stubsMade++;
    let object = this.objects.get(id);
    if (object === undefined) {
      object = new BreakerStateObject(
        new FakeDurableObjectState(),
        {},
        this.clock,
      );
      this.objects.set(id, object);
    }
    const target = object;
    return {
      fetch: (input: string, init: RequestInit) =>
        this.failWith === null
          ? target.fetch(new Request(input, init))
          : Promise.resolve(
            new Response("overloaded", { status: this.failWith }),
          ),
    };
  }
}

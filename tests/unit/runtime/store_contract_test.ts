/**
 * One contract for every shared-store backend (memory, Deno KV, Redis,
 * Durable Object): the same cases run against each, so their semantics
 * (versions, compare-and-set, expiry, counters, values of any JSON kind,
 * two handles on one backend) cannot drift apart. Redis cases run against a
 * real `redis-server` (ignored with the reason when it is not installed).
 */

import assert from "node:assert/strict";
import type {
  AtomicBreakerStore,
  BreakerStoreValue,
} from "../../../src/resilience/breaker_store.ts";
import { systemClock } from "../../../src/resilience/clock.ts";
import { DenoKvBreakerStore } from "../../../src/runtime/deno/kv_breaker_store.ts";
import { MemoryBreakerStore } from "../../../src/runtime/memory/breaker_store.ts";
import { RedisStore } from "../../../src/runtime/redis/redis_store.ts";
import { DurableBreakerStore } from "../../../src/runtime/workers/durable_breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import {
  IGNORE_WITHOUT_REDIS,
  startRedis,
} from "../../_fixtures/redis_server.ts";
import { FakeNamespace } from "./_fake_durable_object_state.ts";

/** One backend under test: handles onto one shared store, and time. */
interface Backend extends AsyncDisposable {
  /** A new handle (a second instance) onto the same store. */
  handle(): AtomicBreakerStore;
  /** Lets `ms` pass for expiry (a fake clock advances; real stores wait). */
  pass(ms: number): Promise<void>;
  /**
   * Whether an expired value reads as absent at once. Deno KV deletes it
   * "after at least" `expireIn`, in the background, so the port promises
   * only that much; callers (probe leases) carry their own deadline.
   */
  exactExpiry: boolean;
}

interface BackendKind {
  name: string;
  ignore?: boolean;
  open(): Promise<Backend>;
}

const STATE = {
  state: "open",
  epoch: 3,
  changedAt: 1_700_000_000_000,
  openUntil: 1_700_000_030_000,
  forced: false,
} as unknown as BreakerStoreValue;

/** Another kind of value (as health results will be): nested, unicode, nulls, arrays. */
const OTHER_KIND = {
  kind: "health",
  upstream: "http://10.0.0.5:8080/v1",
  healthy: false,
  checkedAt: 1_700_000_000_123,
  detail: { status: null, note: "délai dépassé ✓", codes: [502, 503] },
} as unknown as BreakerStoreValue;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const BACKENDS: BackendKind[] = [
  {
    name: "memory",
    open() {
      const clock = new FakeClock();
      const store = new MemoryBreakerStore({ clock });
      return Promise.resolve({
        handle: () => store,
        pass: (ms) => Promise.resolve(clock.advance(ms)),
        exactExpiry: true,
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    },
  },
  {
    name: "Deno KV",
    async open() {
      const dir = await Deno.makeTempDir({ prefix: "store-contract-" });
      const stores: DenoKvBreakerStore[] = [];
      const open = async () => {
        const store = await DenoKvBreakerStore.open(`${dir}/kv.sqlite`);
        stores.push(store);
        return store;
      };
      const first = await open(), second = await open();
      let handles = 0;
      return {
        handle: () => handles++ % 2 === 0 ? first : second,
        pass: sleep,
        exactExpiry: false,
        async [Symbol.asyncDispose]() {
          stores.forEach((store) => store.close());
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
  {
    name: "Redis",
    ignore: IGNORE_WITHOUT_REDIS,
    async open() {
      const redis = await startRedis();
      const stores: RedisStore[] = [];
      return {
        handle() {
          const store = RedisStore.fromUrl(redis.url, { clock: systemClock });
          stores.push(store);
          return store;
        },
        pass: sleep,
        exactExpiry: true,
        async [Symbol.asyncDispose]() {
          await Promise.all(stores.map((store) => store.close()));
          await redis.kill();
        },
      };
    },
  },
  {
    name: "Durable Object",
    open() {
      const clock = new FakeClock();
      const namespace = new FakeNamespace(clock);
      return Promise.resolve({
        handle: () => new DurableBreakerStore(namespace),
        pass: (ms) => Promise.resolve(clock.advance(ms)),
        exactExpiry: true,
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    },
  },
];

type Case = (backend: Backend) => Promise<void>;

const CASES: Record<string, Case> = {
  "absent keys read as null, in order, past every backend's batch size": async (
    backend,
  ) => {
    const store = backend.handle();
    const keys = Array.from({ length: 130 }, (_, i) => `k${i}`);
    await store.set({ key: "k129", value: STATE });
    await store.set({ key: "k3", value: OTHER_KIND });
    const values = await store.get(keys);
    assert.equal(values.length, 130);
    assert.deepEqual(values[129]?.value, STATE);
    assert.deepEqual(values[3]?.value, OTHER_KIND);
    assert.equal(values.filter((value) => value === null).length, 128);
    assert.deepEqual(await store.get([]), []);
  },

  "any JSON value kind round-trips, and a write changes the version": async (
    backend,
  ) => {
    const store = backend.handle();
    await store.set({ key: "h", value: OTHER_KIND });
    const [first] = await store.get(["h"]);
    assert.deepEqual(first?.value, OTHER_KIND);
    await store.set({ key: "h", value: OTHER_KIND });
    const [second] = await store.get(["h"]);
    assert.notEqual(second?.version, first?.version);
  },

  "commit is compare-and-set: absent, current and stale versions": async (
    backend,
  ) => {
    const store = backend.handle();
    const write = { key: "k", value: STATE };
    assert.equal(
      await store.commit([{ key: "k", version: null }], [write]),
      true,
    );
    assert.equal(
      await store.commit([{ key: "k", version: null }], [write]),
      false,
    );
    const [current] = await store.get(["k"]);
    assert.equal(
      await store.commit([{ key: "k", version: current!.version }], [write]),
      true,
    );
    assert.equal(
      await store.commit([{ key: "k", version: current!.version }], [write]),
      false,
      "a stale version must be refused",
    );
  },

  "a commit with one failing check writes nothing": async (backend) => {
    const store = backend.handle();
    await store.set({ key: "a", value: STATE });
    await store.set({ key: "b", value: STATE });
    const [a, staleB] = await store.get(["a", "b"]);
    await store.set({ key: "b", value: STATE });
    const ok = await store.commit(
      [{ key: "a", version: a!.version }, {
        key: "b",
        version: staleB!.version,
      }],
      [{ key: "a", value: OTHER_KIND }, { key: "c", value: OTHER_KIND }],
    );
    assert.equal(ok, false);
    const [aAfter, c] = await store.get(["a", "c"]);
    assert.deepEqual(aAfter?.value, STATE);
    assert.equal(aAfter?.version, a!.version);
    assert.equal(c, null);
  },

  "concurrent commits against one version from two handles: exactly one wins":
    async (backend) => {
      const one = backend.handle(), two = backend.handle();
      await one.set({ key: "race", value: STATE });
      const [seen] = await two.get(["race"]);
      const results = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) =>
            (i % 2 === 0 ? one : two).commit(
              [{ key: "race", version: seen!.version }],
              [{ key: "race", value: { ...OTHER_KIND, n: i } as never }],
            ),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
    },

  "a value written with expireInMs lives at least that long; exact stores drop it then":
    async (backend) => {
      const store = backend.handle();
      await store.set({ key: "lease", value: OTHER_KIND, expireInMs: 150 });
      await store.commit([], [{ key: "kept", value: STATE }]);
      assert.deepEqual((await store.get(["lease"]))[0]?.value, OTHER_KIND);
      await backend.pass(200);
      const [lease, kept] = await store.get(["lease", "kept"]);
      assert.deepEqual(kept?.value, STATE);
      if (!backend.exactExpiry) return;
      assert.equal(lease, null);
      assert.equal(
        await store.commit([{ key: "lease", version: null }], [{
          key: "lease",
          value: STATE,
        }]),
        true,
        "an expired key checks as absent",
      );
    },

  "increment counts 1, 2, 3 per key; counters are apart from values": async (
    backend,
  ) => {
    const store = backend.handle();
    const window = { expireInMs: 60_000 };
    assert.equal(await store.increment("c", window), 1);
    assert.equal(await store.increment("c", window), 2);
    assert.equal(await store.increment("d", window), 1);
    assert.equal(await backend.handle().increment("c", window), 3);
    assert.deepEqual(await store.get(["c", "d"]), [null, null]);
  },

  "concurrent increments from two handles hand out every count exactly once":
    async (backend) => {
      const one = backend.handle(), two = backend.handle();
      const counts = await Promise.all(
        Array.from(
          { length: 40 },
          (_, i) =>
            (i % 2 === 0 ? one : two).increment("hot", { expireInMs: 60_000 }),
        ),
      );
      assert.deepEqual(
        counts.sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
    },

  "a counter starts again at 1 after it expires; later increments do not extend it":
    async (backend) => {
      const store = backend.handle();
      assert.equal(await store.increment("w", { expireInMs: 100 }), 1);
      await backend.pass(60);
      assert.equal(await store.increment("w", { expireInMs: 100 }), 2);
      await backend.pass(60);
      assert.equal(await store.increment("w", { expireInMs: 100 }), 1);
    },
};

for (const kind of BACKENDS) {
  for (const [name, run] of Object.entries(CASES)) {
    Deno.test({
      name: `store contract (${kind.name}): ${name}`,
      ignore: kind.ignore,
      async fn() {
        await using backend = await kind.open();
        await run(backend);
      },
    });
  }
}

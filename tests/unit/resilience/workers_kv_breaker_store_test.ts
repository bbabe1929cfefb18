import assert from "node:assert/strict";
import type { BreakerPolicy } from "../../../src/config/types.ts";
import { BreakerBoard } from "../../../src/resilience/breaker_board.ts";
import type { BreakerState } from "../../../src/resilience/breaker_merge.ts";
import {
  WorkersKvBreakerStore,
  type WorkersKvNamespace,
} from "../../../src/runtime/workers/kv_breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

/** Workers KV as the binding behaves: JSON values, TTL, 429 on a second write within 1 s per key. */
class FakeKvNamespace implements WorkersKvNamespace {
  readonly values = new Map<string, string>();
  readonly puts: Array<{ key: string; at: number; ttl?: number }> = [];
  readonly #lastPutAt = new Map<string, number>();
  readonly #clock: FakeClock;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  get(key: string, options: { type: "json"; cacheTtl?: number }) {
    assert.equal(options.type, "json");
    assert.ok((options.cacheTtl ?? 60) >= 30);
    const text = this.values.get(key);
    return Promise.resolve(text === undefined ? null : JSON.parse(text));
  }

  put(key: string, value: string, options?: { expirationTtl?: number }) {
    const now = this.#clock.now();
    const last = this.#lastPutAt.get(key);
    if (last !== undefined && now - last < 1000) {
      return Promise.reject(new Error("KV PUT failed: 429 Too Many Requests"));
    }
    if (options?.expirationTtl !== undefined) {
      assert.ok(options.expirationTtl >= 60, "Workers KV TTL is at least 60 s");
    }
    this.#lastPutAt.set(key, now);
    this.values.set(key, value);
    this.puts.push({ key, at: now, ttl: options?.expirationTtl });
    return Promise.resolve();
  }
}

function state(over: Partial<BreakerState> = {}): BreakerState {
  return {
    state: "closed",
    epoch: 1,
    changedAt: 0,
    openUntil: null,
    forced: false,
    ...over,
  };
}

Deno.test("Workers KV store: a value round-trips as JSON under the prefix", async () => {
  const clock = new FakeClock(0);
  const kv = new FakeKvNamespace(clock);
  const store = new WorkersKvBreakerStore(kv, { clock });
  await store.set({ key: "users|u", value: state({ epoch: 3 }) });
  assert.deepEqual([...kv.values.keys()], ["gateway:breaker:users|u"]);
  const [read, absent] = await store.get(["users|u", "other"]);
  assert.deepEqual(read?.value, state({ epoch: 3 }));
  assert.equal(absent, null);
});

Deno.test("Workers KV store: writes are debounced to one per second per key, the latest wins", async () => {
  const clock = new FakeClock(0);
  const kv = new FakeKvNamespace(clock);
  const store = new WorkersKvBreakerStore(kv, { clock });
  await store.set({ key: "k", value: state({ epoch: 1 }) });
  clock.advance(300);
  const second = store.set({ key: "k", value: state({ epoch: 2 }) });
  const third = store.set({ key: "k", value: state({ epoch: 3 }) });
  await store.set({ key: "other", value: state() }); // other keys are not held
  assert.equal(kv.puts.length, 2);
  await clock.advanceAsync(700);
  await Promise.all([second, third]);
  assert.deepEqual(kv.puts.map((put) => [put.key, put.at]), [
    ["gateway:breaker:k", 0],
    ["gateway:breaker:other", 300],
    ["gateway:breaker:k", 1000],
  ]);
  const [read] = await store.get(["k"]);
  assert.equal((read?.value as BreakerState).epoch, 3);
});

Deno.test("Workers KV store: the TTL is at least 60 s and outlasts an open", async () => {
  const clock = new FakeClock(0);
  const kv = new FakeKvNamespace(clock);
  const store = new WorkersKvBreakerStore(kv, { clock });
  await store.set({ key: "a", value: state() });
  await store.set({
    key: "b",
    value: state({ state: "open", openUntil: 3_600_000 }),
  });
  await store.set({ key: "c", value: state(), expireInMs: 5_000 });
  assert.deepEqual(kv.puts.map((put) => put.ttl), [86_400, 90_000, 60]);
});

Deno.test("Workers KV store: close drops held writes and their timers", async () => {
  const clock = new FakeClock(0);
  const store = new WorkersKvBreakerStore(new FakeKvNamespace(clock), {
    clock,
  });
  await store.set({ key: "k", value: state() });
  const held = store.set({ key: "k", value: state({ epoch: 2 }) });
  assert.equal(clock.pending(), 1);
  store.close();
  assert.equal(clock.pending(), 0);
  await assert.rejects(held, /closed/);
});

const POLICY: BreakerPolicy = {
  window: "count",
  size: 10,
  minCalls: 2,
  failureRate: 0.5,
  slowCallMs: null,
  slowCallRate: 1,
  openMs: 5000,
  halfOpenProbes: 1,
  consecutiveFailures: 10_000,
  maxOpenMs: 5000,
};

Deno.test("boards on Workers KV share transitions as hints; a 429 is a counted store error", async () => {
  const clock = new FakeClock(0);
  const kv = new FakeKvNamespace(clock);
  const storeA = new WorkersKvBreakerStore(kv, { clock });
  const storeB = new WorkersKvBreakerStore(kv, { clock });
  const errors: boolean[] = [];
  const a = new BreakerBoard({ clock, store: storeA });
  const b = new BreakerBoard({
    clock,
    store: storeB,
    onStoreError: (_error, first) => errors.push(first),
  });
  a.register("r", "u", POLICY);
  b.register("r", "u", POLICY);
  for (let i = 0; i < 2; i++) {
    const admission = await a.admit("r", "u");
    assert.ok(admission.allowed);
    admission.report({ failure: true, durationMs: 1 });
  }
  await a.settled();
  await b.sync();
  assert.equal(b.views()[0].state, "open");
  assert.equal((await b.admit("r", "u")).allowed, false);

  // Another isolate writes the key (an older state) a second before B
  // writes back its newer one: the binding answers 429.
  clock.advance(2000);
  await kv.put("gateway:breaker:r|u", JSON.stringify(state({ epoch: 0 })));
  await b.sync();
  await b.settled();
  assert.equal(b.storeHealth().healthy, false);
  assert.match(b.storeHealth().lastError ?? "", /429/);
  assert.deepEqual(errors, [true]);
  assert.equal((await b.admit("r", "u")).allowed, false); // local state serves

  // Half-open is decided per instance on an advisory store.
  clock.advance(3000);
  const probeA = await a.admit("r", "u");
  const probeB = await b.admit("r", "u");
  assert.ok(probeA.allowed && probeA.probe && probeB.allowed && probeB.probe);
  probeA.report({ failure: false, durationMs: 1 });
  // A's close is held back a second after its half-open write.
  await clock.advanceAsync(1000);
  await Promise.all([a.settled(), b.settled()]);
  clock.advance(10_000);
  await b.sync();
  assert.equal(b.views()[0].state, "closed");
  assert.equal(b.storeHealth().healthy, true);
  await Promise.all([a.close(), b.close()]);
  storeA.close();
  storeB.close();
  assert.equal(clock.pending(), 0);
});

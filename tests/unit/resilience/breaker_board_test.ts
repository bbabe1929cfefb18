import assert from "node:assert/strict";
import type { BreakerPolicy } from "../../../src/config/types.ts";
import {
  type Admission,
  BreakerBoard,
  type BreakerBoardOptions,
} from "../../../src/resilience/breaker_board.ts";
import type {
  AtomicBreakerStore,
  StoreCheck,
  StoreWrite,
} from "../../../src/resilience/breaker_store.ts";
import { MemoryBreakerStore } from "../../../src/runtime/memory/breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { breakerPolicy } from "../../_fixtures/breaker_policy.ts";

const ROUTE = "users";
const UPSTREAM = "http://10.0.0.5:8080";
const OK = { failure: false, durationMs: 10 };
const FAIL = { failure: true, durationMs: 10 };

const POLICY = breakerPolicy();

/** A store that can be made to throw, hang or answer 429 on demand. */
class FaultyStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  mode: "ok" | "throw" | "hang" | "429" = "ok";
  reads = 0;
  readonly inner: MemoryBreakerStore;

  constructor(clock: FakeClock) {
    this.inner = new MemoryBreakerStore({ clock });
  }

  get(keys: readonly string[]) {
    this.reads++;
    return this.#fault() ?? this.inner.get(keys);
  }
  set(write: StoreWrite) {
    return this.#fault() ?? this.inner.set(write);
  }
  commit(checks: readonly StoreCheck[], writes: readonly StoreWrite[]) {
    return this.#fault() ?? this.inner.commit(checks, writes);
  }
  increment(key: string, options: { expireInMs: number }) {
    return this.#fault() ?? this.inner.increment(key, options);
  }

  #fault(): Promise<never> | undefined {
    if (this.mode === "throw") throw new Error("store is down");
    if (this.mode === "429") {
      return Promise.reject(new Error("429 Too Many Requests"));
    }
    if (this.mode === "hang") return new Promise<never>(() => {});
  }
}

function board(
  clock: FakeClock,
  store: BreakerBoardOptions["store"],
  options: Partial<BreakerBoardOptions> = {},
  policy: BreakerPolicy = POLICY,
): BreakerBoard {
  const created = new BreakerBoard({ clock, store, ...options });
  created.register(ROUTE, UPSTREAM, policy);
  return created;
}

async function admit(target: BreakerBoard): Promise<Admission> {
  return await target.admit(ROUTE, UPSTREAM);
}

async function fail(target: BreakerBoard, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const admission = await admit(target);
    assert.ok(admission.allowed);
    admission.report(FAIL);
  }
  await target.settled();
}

function view(target: BreakerBoard) {
  const [only] = target.views();
  return only;
}

Deno.test("two boards on one memory store see each other's open after a sync", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store);
  await fail(a, 4);
  assert.equal(view(a).state, "open");
  assert.equal((await admit(b)).allowed, true); // stale until it syncs
  await b.sync();
  assert.equal(view(b).state, "open");
  assert.equal(view(b).epoch, view(a).epoch);
  assert.deepEqual(await admit(b), { allowed: false, retryAfterMs: 5000 });
  await Promise.all([a.close(), b.close()]);
  assert.equal(clock.pending(), 0);
});

Deno.test("admit starts a background sync once local state is stale", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store, { syncIntervalMs: 250 });
  await admit(b); // first admit syncs
  await b.settled();
  await fail(a, 4);
  clock.advance(100);
  await admit(b); // not stale yet: no sync
  await b.settled();
  assert.equal(view(b).state, "closed");
  clock.advance(150);
  const stale = await admit(b); // decided locally, sync in the background
  assert.equal(stale.allowed, true);
  await b.settled();
  assert.equal((await admit(b)).allowed, false);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("half-open probes are shared: at most halfOpenProbes across boards, all succeed → closed", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store);
  await fail(a, 4);
  await b.sync();
  clock.advance(5000);
  const admissions = await Promise.all([
    admit(a),
    admit(b),
    admit(a),
    admit(b),
    admit(a),
  ]);
  const probes = admissions.filter((admission) => admission.allowed);
  assert.equal(probes.length, 2);
  assert.ok(probes.every((probe) => probe.allowed && probe.probe));
  for (const rejected of admissions.filter((x) => !x.allowed)) {
    assert.deepEqual(rejected, { allowed: false, retryAfterMs: 1000 });
  }
  for (const probe of probes) if (probe.allowed) probe.report(OK);
  await Promise.all([a.settled(), b.settled()]);
  await Promise.all([a.sync(), b.sync()]);
  assert.equal(view(a).state, "closed");
  assert.equal(view(b).state, "closed");
  assert.equal(view(a).epoch, 3);
  assert.equal(view(b).epoch, 3);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("one failed probe re-opens the breaker for every board", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store);
  await fail(a, 4);
  await b.sync();
  clock.advance(5000);
  const probeA = await admit(a);
  const probeB = await admit(b);
  assert.ok(probeA.allowed && probeA.probe && probeB.allowed && probeB.probe);
  probeB.report(OK);
  probeA.report(FAIL);
  await Promise.all([a.settled(), b.settled()]);
  await b.sync();
  assert.equal(view(a).state, "open");
  assert.equal(view(b).state, "open");
  assert.equal(view(b).openUntil, clock.now() + 5000);
  assert.deepEqual(await admit(b), { allowed: false, retryAfterMs: 5000 });
  await Promise.all([a.close(), b.close()]);
});

Deno.test("an expired probe lease frees its slot", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const policy = { ...POLICY, halfOpenProbes: 1 };
  const a = board(clock, store, { probeLeaseMs: 2000 }, policy);
  const b = board(clock, store, { probeLeaseMs: 2000 }, policy);
  await fail(a, 4);
  await b.sync();
  clock.advance(5000);
  assert.equal((await admit(a)).allowed, true); // never reported: "crashed"
  assert.equal((await admit(b)).allowed, false);
  clock.advance(2000);
  const probe = await admit(b);
  assert.ok(probe.allowed && probe.probe);
  probe.report(OK);
  await b.settled();
  assert.equal(view(b).state, "closed");
  await Promise.all([a.close(), b.close()]);
});

Deno.test("a released probe frees its shared slot at once, without a verdict", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const policy = { ...POLICY, halfOpenProbes: 1 };
  const a = board(clock, store, { syncIntervalMs: 250 }, policy);
  const b = board(clock, store, { syncIntervalMs: 250 }, policy);
  await fail(a, 4);
  await b.sync();
  clock.advance(5000);
  const probe = await admit(a);
  assert.ok(probe.allowed && probe.probe);
  assert.equal((await admit(b)).allowed, false);
  probe.release(); // e.g. the client left during the backoff before it
  await a.settled();
  clock.advance(250); // b trusts its "slots busy" answer one sync interval
  const next = await admit(b);
  assert.ok(next.allowed && next.probe, "the slot was not given back");
  assert.equal(view(b).state, "half_open"); // no verdict from the release
  next.report(OK);
  await b.settled();
  assert.equal(view(b).state, "closed");
  await Promise.all([a.close(), b.close()]);
});

Deno.test("a released probe frees its local slot when the store is down", async () => {
  const clock = new FakeClock(0);
  const store = new FaultyStore(clock);
  const policy = { ...POLICY, halfOpenProbes: 1 };
  const a = board(clock, store, {}, policy);
  await fail(a, 4);
  store.mode = "throw";
  clock.advance(5000);
  const probe = await admit(a);
  assert.ok(probe.allowed && probe.probe);
  assert.equal((await admit(a)).allowed, false);
  probe.release();
  const next = await admit(a);
  assert.ok(next.allowed && next.probe);
  next.report(OK);
  assert.equal(view(a).state, "closed");
  await a.close();
});

Deno.test("with every probe slot out, half-open admissions skip the store for a sync interval", async () => {
  const clock = new FakeClock(0);
  const store = new FaultyStore(clock);
  const policy = { ...POLICY, halfOpenProbes: 1 };
  const a = board(clock, store, { syncIntervalMs: 250 }, policy);
  await fail(a, 4);
  clock.advance(5000);
  await a.settled();
  assert.equal((await admit(a)).allowed, true);
  assert.equal((await admit(a)).allowed, false); // asked the store
  const reads = store.reads;
  assert.deepEqual(a.admit(ROUTE, UPSTREAM), {
    allowed: false,
    retryAfterMs: 1000,
  });
  assert.equal(store.reads, reads);
  clock.advance(250);
  await a.settled();
  const again = a.admit(ROUTE, UPSTREAM);
  assert.ok(again instanceof Promise); // asks the store again
  assert.equal((await again).allowed, false);
  await a.close();
});

Deno.test("force propagates through the store; reset releases it", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store);
  const forced = await a.force(ROUTE, UPSTREAM, "open");
  assert.equal(forced?.state, "open");
  assert.equal(forced?.forced, true);
  await b.sync();
  assert.equal(view(b).forced, true);
  clock.advance(60_000);
  assert.equal((await admit(b)).allowed, false);
  await a.force(ROUTE, UPSTREAM, "reset");
  await b.sync();
  assert.equal(view(b).state, "closed");
  assert.equal(await a.force(ROUTE, "http://unknown", "open"), undefined);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("a store that throws: local state serves, one report per incident, every error counted", async () => {
  const clock = new FakeClock(0);
  const store = new FaultyStore(clock);
  const reports: boolean[] = [];
  const a = board(clock, store, {
    onStoreError: (_error, first) => reports.push(first),
  });
  store.mode = "throw";
  await fail(a, 4); // the open cannot be written
  assert.equal(view(a).state, "open");
  assert.equal((await admit(a)).allowed, false);
  const health = a.storeHealth();
  assert.equal(health.healthy, false);
  assert.equal(health.lastError, "store is down");
  assert.equal(health.since, 0);
  assert.ok(health.errors >= 2);
  assert.equal(reports.length, health.errors);
  assert.deepEqual(reports.filter((first) => first), [true]);
  assert.equal(reports[0], true);

  // Half-open while unhealthy: decided locally, no store wait.
  clock.advance(5000);
  const probe = a.admit(ROUTE, UPSTREAM);
  assert.ok(!(probe instanceof Promise));
  assert.equal(probe.allowed && probe.probe, true);

  store.mode = "ok";
  await a.sync(); // healthy again: the local state the store missed is written back
  await a.settled();
  assert.equal(a.storeHealth().healthy, true);
  assert.equal(a.storeHealth().since, null);
  const [record] = await store.inner.get([`${ROUTE}|${UPSTREAM}`]);
  assert.ok(record !== null && "epoch" in record.value);
  assert.equal(record.value.epoch, view(a).epoch);

  store.mode = "429";
  await a.sync();
  assert.equal(a.storeHealth().lastError, "429 Too Many Requests");
  assert.deepEqual(reports.filter((first) => first), [true, true]);
  await a.close();
});

Deno.test("a store that hangs: every call is cut at storeTimeoutMs and the board goes on", async () => {
  const clock = new FakeClock(0);
  const store = new FaultyStore(clock);
  const a = board(clock, store, { storeTimeoutMs: 250 });
  await fail(a, 4);
  await a.sync();
  store.mode = "hang";
  clock.advance(5000);
  // Healthy until now, so half-open asks the store, which hangs.
  const pending = a.admit(ROUTE, UPSTREAM);
  assert.ok(pending instanceof Promise);
  let settled = false;
  pending.then(() => settled = true);
  await clock.advanceAsync(249);
  assert.equal(settled, false);
  await clock.advanceAsync(1);
  const probe = await pending;
  assert.ok(probe.allowed && probe.probe); // the local breaker decided
  const health = a.storeHealth();
  assert.equal(health.healthy, false);
  assert.equal(health.lastError, "Breaker store call timed out after 250 ms");
  probe.report(FAIL); // re-opens locally; the write times out in the background
  assert.equal(view(a).state, "open");
  await clock.advanceAsync(1000);
  await a.settled();
  await a.close();
  assert.equal(clock.pending(), 0);
});

Deno.test("close cuts store calls still out and leaves no timer", async () => {
  const clock = new FakeClock(0);
  const store = new FaultyStore(clock);
  store.mode = "hang";
  const a = board(clock, store, { autoSync: true });
  await admit(a); // starts a sync that hangs
  assert.ok(clock.pending() >= 2); // auto-sync timer + the call's timeout
  await a.close();
  assert.equal(clock.pending(), 0);
  assert.equal(a.storeHealth().errors, 0); // closing is not a store failure
});

Deno.test("autoSync pulls remote transitions without traffic", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const a = board(clock, store);
  const b = board(clock, store, { autoSync: true, syncIntervalMs: 250 });
  const transitions: string[] = [];
  const c = board(clock, store, {
    autoSync: true,
    onTransition: (v, from) => transitions.push(`${from}->${v.state}`),
  });
  await fail(a, 4);
  await clock.advanceAsync(250);
  await Promise.all([b.settled(), c.settled()]);
  assert.equal(view(b).state, "open");
  assert.deepEqual(transitions, ["closed->open"]);
  await Promise.all([a.close(), b.close(), c.close()]);
  assert.equal(clock.pending(), 0);
});

Deno.test("report is honoured once; waitUntil receives background writes", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const kept: Promise<unknown>[] = [];
  const a = board(clock, store, { waitUntil: (p) => kept.push(p) });
  const admission = await admit(a);
  assert.ok(admission.allowed);
  for (let i = 0; i < 5; i++) admission.report(FAIL);
  assert.equal(view(a).calls, 1);
  await fail(a, 3);
  assert.equal(view(a).state, "open");
  assert.ok(kept.length >= 2); // the first sync and the open's write
  await Promise.all(kept);
  await a.close();
});

Deno.test("register twice and admit unknown are programming errors", () => {
  const clock = new FakeClock(0);
  const a = board(clock, new MemoryBreakerStore({ clock }));
  assert.throws(() => a.register(ROUTE, UPSTREAM, POLICY), /already/);
  assert.throws(() => a.admit(ROUTE, "http://other"), /no breaker/);
});

Deno.test("reconcile: unchanged pairs keep their breaker, changed policies start over and re-adopt shared state, dropped pairs still serve old exchanges", async () => {
  const clock = new FakeClock(0);
  const store = new MemoryBreakerStore({ clock });
  const target = board(clock, store);
  target.register("gone", UPSTREAM, POLICY);
  await fail(target, 4);
  assert.equal(view(target).state, "open");

  target.reconcile([
    { route: ROUTE, upstream: UPSTREAM, policy: breakerPolicy() },
    { route: "added", upstream: UPSTREAM, policy: POLICY },
  ]);
  assert.deepEqual(
    target.views().map((v) => [v.route, v.state]),
    [[ROUTE, "open"], ["added", "closed"]],
  );
  // An exchange of the config before may still ask about a dropped pair.
  assert.equal((await target.admit("gone", UPSTREAM)).allowed, true);

  target.reconcile([
    {
      route: ROUTE,
      upstream: UPSTREAM,
      policy: breakerPolicy({ openMs: 9000 }),
    },
  ]);
  assert.equal(view(target).state, "closed");
  await target.sync();
  assert.equal(view(target).state, "open", "the shared open state came back");
  assert.throws(() => target.admit("gone", UPSTREAM), /no breaker/);
  await target.close();
});

/** A memory store whose commits wait until `open()`: a store round trip in flight. */
class GatedStore extends MemoryBreakerStore {
  #gate: Promise<void> | null = null;
  #open = () => {};

  hold(): void {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }
  open(): void {
    this.#gate = null;
    this.#open();
  }
  override async commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    await this.#gate;
    return await super.commit(checks, writes);
  }
}

Deno.test("a call right after the closing probe succeeded is admitted, not refused while the close is written", async () => {
  const clock = new FakeClock(0);
  const store = new GatedStore({ clock });
  const transitions: string[] = [];
  const a = board(clock, store, {
    onTransition: (view, from) => transitions.push(`${from}→${view.state}`),
  }, breakerPolicy({ halfOpenProbes: 1 }));
  await fail(a, 4);
  clock.advance(5000);
  const probe = await admit(a);
  assert.ok(probe.allowed && probe.probe);
  store.hold(); // the close is still on its way to the store
  probe.report(OK);
  const next = admit(a);
  store.open();
  const admission = await next;
  assert.equal(admission.allowed, true);
  assert.ok(admission.allowed && !admission.probe, "a closed breaker's call");
  assert.deepEqual(transitions.slice(-1), ["half_open→closed"]);
  admission.report(OK);
  await a.close();
  assert.equal(clock.pending(), 0);
});

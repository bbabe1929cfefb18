import assert from "node:assert/strict";
import {
  type Admission,
  BreakerBoard,
} from "../../../src/resilience/breaker_board.ts";
import type { BreakerState } from "../../../src/resilience/breaker_merge.ts";
import {
  BREAKER_OBJECT_NAME,
  DurableBreakerStore,
} from "../../../src/runtime/workers/durable_breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { FakeNamespace } from "./_fake_durable_object_state.ts";
import { breakerPolicy } from "../../_fixtures/breaker_policy.ts";

const ROUTE = "users";
const UPSTREAM = "http://10.0.0.5:8080";
const POLICY = breakerPolicy();
const OPEN_STATE: BreakerState = {
  state: "open",
  epoch: 1,
  changedAt: 0,
  openUntil: 5000,
  forced: false,
};

function board(clock: FakeClock, store: DurableBreakerStore): BreakerBoard {
  const created = new BreakerBoard({ clock, store });
  created.register(ROUTE, UPSTREAM, POLICY);
  return created;
}

async function admit(target: BreakerBoard): Promise<Admission> {
  return await target.admit(ROUTE, UPSTREAM);
}

async function openBy(target: BreakerBoard): Promise<void> {
  for (let i = 0; i < POLICY.minCalls; i++) {
    const admission = await admit(target);
    assert.ok(admission.allowed);
    admission.report({ failure: true, durationMs: 10 });
  }
  await target.settled();
}

function view(target: BreakerBoard) {
  const [only] = target.views();
  return only;
}

Deno.test("every store of a namespace talks to the one object named 'breakers', a fresh stub per call", async () => {
  const namespace = new FakeNamespace(new FakeClock(0));
  const a = new DurableBreakerStore(namespace);
  const b = new DurableBreakerStore(namespace);
  await a.set({ key: "k", value: OPEN_STATE });
  assert.deepEqual((await b.get(["k"]))[0]?.value, OPEN_STATE);
  assert.deepEqual([...namespace.objects.keys()], [
    `id:${BREAKER_OBJECT_NAME}`,
  ]);
  assert.equal(namespace.stubsMade, 2);
});

Deno.test("commit is compare-and-set through the object", async () => {
  const namespace = new FakeNamespace(new FakeClock(0));
  const store = new DurableBreakerStore(namespace);
  const write = { key: "k", value: OPEN_STATE };
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
});

Deno.test("an object that answers an error makes the call throw with its status", async () => {
  const namespace = new FakeNamespace(new FakeClock(0));
  const store = new DurableBreakerStore(namespace);
  namespace.failWith = 503;
  await assert.rejects(store.get(["k"]), /answered 503: overloaded/);
  await assert.rejects(
    store.commit([], [{ key: "k", value: OPEN_STATE }]),
    /answered 503/,
  );
});

Deno.test("two boards on one object: an open in A reaches B at its sync", async () => {
  const clock = new FakeClock(0);
  const namespace = new FakeNamespace(clock);
  const a = board(clock, new DurableBreakerStore(namespace));
  const b = board(clock, new DurableBreakerStore(namespace));
  await openBy(a);
  assert.equal(view(a).state, "open");
  await b.sync();
  assert.equal(view(b).state, "open");
  assert.equal(view(b).epoch, view(a).epoch);
  assert.equal((await admit(b)).allowed, false);
  assert.equal(b.storeHealth().errors, 0);
  await Promise.all([a.close(), b.close()]);
  assert.equal(clock.pending(), 0);
});

Deno.test("half-open probes through the object: at most halfOpenProbes across boards, then closed everywhere", async () => {
  const clock = new FakeClock(0);
  const namespace = new FakeNamespace(clock);
  const boards = [0, 1, 2].map(() =>
    board(clock, new DurableBreakerStore(namespace))
  );
  await openBy(boards[0]);
  await Promise.all(boards.map((each) => each.sync()));
  clock.advance(POLICY.openMs);
  const admissions = await Promise.all(
    Array.from({ length: 9 }, (_, i) => admit(boards[i % 3])),
  );
  const probes = admissions.filter((admission) => admission.allowed);
  assert.equal(probes.length, POLICY.halfOpenProbes);
  for (const probe of probes) {
    if (probe.allowed) probe.report({ failure: false, durationMs: 10 });
  }
  await Promise.all(boards.map((each) => each.settled()));
  await Promise.all(boards.map((each) => each.sync()));
  assert.deepEqual(boards.map((each) => view(each).state), [
    "closed",
    "closed",
    "closed",
  ]);
  await Promise.all(boards.map((each) => each.close()));
});

Deno.test("an object that fails leaves every board on local state, counted", async () => {
  const clock = new FakeClock(0);
  const namespace = new FakeNamespace(clock);
  const a = board(clock, new DurableBreakerStore(namespace));
  namespace.failWith = 500;
  await openBy(a);
  assert.equal(view(a).state, "open");
  assert.equal(a.storeHealth().healthy, false);
  assert.ok(a.storeHealth().errors >= 1);
  await a.close();
});

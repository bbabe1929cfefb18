import assert from "node:assert/strict";
import type { BreakerState } from "../../../src/resilience/breaker_merge.ts";
import type { ProbeLease } from "../../../src/resilience/breaker_store.ts";
import { BreakerStateObject } from "../../../src/runtime/workers/breaker_state_object.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { FakeDurableObjectState } from "./_fake_durable_object_state.ts";

const OPEN: BreakerState = {
  state: "open",
  epoch: 1,
  changedAt: 0,
  openUntil: 5000,
  forced: false,
};
const CLOSED: BreakerState = { ...OPEN, state: "closed", openUntil: null };
const LEASE: ProbeLease = {
  epoch: 2,
  holder: "a",
  until: 1000,
  succeeded: false,
};

function setUp() {
  const clock = new FakeClock(0);
  const state = new FakeDurableObjectState();
  const object = new BreakerStateObject(state, {}, clock);
  return { clock, storage: state.storage, object };
}

function post(path: string, body: unknown): Request {
  return new Request(`https://breaker-state.internal${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("get answers null for absent keys and the value with its version after a write", async () => {
  const { object } = setUp();
  assert.deepEqual(await object.get(["r|u", "r|u#probe0"]), [null, null]);
  assert.equal(await object.commit([], [{ key: "r|u", value: OPEN }]), true);
  const [stored, absent] = await object.get(["r|u", "r|u#probe0"]);
  assert.deepEqual(stored?.value, OPEN);
  assert.equal(typeof stored?.version, "string");
  assert.equal(absent, null);
});

Deno.test("commit is compare-and-set: a check against a moved or absent key fails and writes nothing", async () => {
  const { object } = setUp();
  assert.equal(
    await object.commit([{ key: "r|u", version: null }], [{
      key: "r|u",
      value: OPEN,
    }]),
    true,
  );
  // Someone wrote first: "still absent" no longer holds.
  assert.equal(
    await object.commit([{ key: "r|u", version: null }], [{
      key: "r|u",
      value: CLOSED,
    }]),
    false,
  );
  const [first] = await object.get(["r|u"]);
  // One failing check of two stops both writes.
  assert.equal(
    await object.commit(
      [{ key: "r|u", version: first!.version }, {
        key: "r|u#probe0",
        version: "999",
      }],
      [{ key: "r|u", value: CLOSED }, { key: "r|u#probe0", value: LEASE }],
    ),
    false,
  );
  assert.deepEqual(
    (await object.get(["r|u", "r|u#probe0"])).map((v) => v?.value ?? null),
    [OPEN, null],
  );
  // The current version passes, and the write gets a new one.
  assert.equal(
    await object.commit([{ key: "r|u", version: first!.version }], [{
      key: "r|u",
      value: CLOSED,
    }]),
    true,
  );
  const [second] = await object.get(["r|u"]);
  assert.deepEqual(second?.value, CLOSED);
  assert.notEqual(second?.version, first?.version);
  assert.equal(
    await object.commit([{ key: "r|u", version: first!.version }], []),
    false,
    "a stale version fails",
  );
});

Deno.test("racing commits on one version: exactly one wins", async () => {
  const { object } = setUp();
  await object.commit([], [{ key: "r|u", value: OPEN }]);
  const [current] = await object.get(["r|u"]);
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) =>
        object.commit([{ key: "r|u", version: current!.version }], [{
          key: "r|u",
          value: { ...OPEN, epoch: 10 + i },
        }]),
    ),
  );
  assert.equal(results.filter(Boolean).length, 1);
});

Deno.test("an expired value reads as absent, and its version never comes back", async () => {
  const { clock, object } = setUp();
  await object.commit([], [{
    key: "r|u#probe0",
    value: LEASE,
    expireInMs: 1000,
  }]);
  const [lease] = await object.get(["r|u#probe0"]);
  clock.advance(999);
  assert.notEqual((await object.get(["r|u#probe0"]))[0], null);
  clock.advance(1);
  assert.deepEqual(await object.get(["r|u#probe0"]), [null]);
  assert.equal(
    await object.commit([{ key: "r|u#probe0", version: lease!.version }], []),
    false,
    "the check of an expired value fails",
  );
  // Written again after expiry: a check made against its earlier life fails.
  assert.equal(
    await object.commit([{ key: "r|u#probe0", version: null }], [{
      key: "r|u#probe0",
      value: { ...LEASE, holder: "b" },
    }]),
    true,
  );
  const [again] = await object.get(["r|u#probe0"]);
  assert.notEqual(again?.version, lease?.version);
  assert.equal(
    await object.commit([{ key: "r|u#probe0", version: lease!.version }], []),
    false,
  );
});

Deno.test("the alarm purges expired records and is set for the next expiry", async () => {
  const { clock, storage, object } = setUp();
  await object.commit([], [
    { key: "r|u", value: OPEN },
    { key: "r|u#probe0", value: LEASE, expireInMs: 3000 },
  ]);
  assert.equal(storage.alarmAt, 3000);
  await object.commit([], [{
    key: "r|u#probe1",
    value: LEASE,
    expireInMs: 1000,
  }]);
  assert.equal(storage.alarmAt, 1000, "an earlier expiry moves the alarm");
  await object.commit([], [{
    key: "r|u#probe2",
    value: LEASE,
    expireInMs: 5000,
  }]);
  assert.equal(storage.alarmAt, 1000, "a later one leaves it");

  clock.advance(1000);
  storage.alarmAt = null; // Workers clears an alarm as it fires.
  await object.alarm();
  assert.deepEqual(
    [...storage.data.keys()].filter((k) => k !== "version-counter").sort(),
    [
      "breaker:r|u",
      "breaker:r|u#probe0",
      "breaker:r|u#probe2",
    ],
  );
  assert.equal(storage.alarmAt, 3000);

  clock.advance(4000);
  storage.alarmAt = null;
  await object.alarm();
  assert.deepEqual(
    [...storage.data.keys()].filter((k) => k !== "version-counter"),
    ["breaker:r|u"],
  );
  assert.equal(storage.alarmAt, null, "nothing left to expire");
});

Deno.test("get and commit reach past the storage's 128 keys per call", async () => {
  const { object } = setUp();
  const keys = Array.from({ length: 300 }, (_, i) => `r|u${i}`);
  assert.equal(
    await object.commit(
      keys.map((key) => ({ key, version: null })),
      keys.map((key) => ({ key, value: OPEN })),
    ),
    true,
  );
  const values = await object.get(keys);
  assert.equal(values.filter((v) => v !== null).length, 300);
  assert.equal(new Set(values.map((v) => v!.version)).size, 300);
});

Deno.test("fetch serves get, set and commit as JSON over POST", async () => {
  const { object } = setUp();
  const set = await object.fetch(post("/set", {
    write: { key: "r|u", value: OPEN },
  }));
  assert.equal(set.status, 200);
  assert.deepEqual(await set.json(), {});
  const got = await (await object.fetch(post("/get", { keys: ["r|u"] })))
    .json();
  assert.deepEqual(got.values[0].value, OPEN);
  const commit = await object.fetch(post("/commit", {
    checks: [{ key: "r|u", version: got.values[0].version }],
    writes: [{ key: "r|u", value: CLOSED }],
  }));
  assert.deepEqual(await commit.json(), { ok: true });
  const stale = await object.fetch(post("/commit", {
    checks: [{ key: "r|u", version: got.values[0].version }],
    writes: [],
  }));
  assert.deepEqual(await stale.json(), { ok: false });
});

Deno.test("fetch refuses what is not the protocol", async () => {
  const { object, storage } = setUp();
  const cases: Array<[Request, number]> = [
    [new Request("https://breaker-state.internal/get"), 405],
    [post("/get", "not json"), 400],
    [post("/get", { keys: [1] }), 400],
    [post("/set", { write: { key: "r|u" } }), 400],
    [post("/set", { write: { key: "r|u", value: OPEN, expireInMs: -1 } }), 400],
    [
      post("/commit", { checks: [{ key: "r|u", version: 3 }], writes: [] }),
      400,
    ],
    [post("/delete", { keys: [] }), 404],
  ];
  for (const [request, status] of cases) {
    const response = await object.fetch(request);
    assert.equal(response.status, status, `${request.method} ${request.url}`);
    assert.equal(typeof (await response.json()).error, "string");
  }
  assert.equal(storage.data.size, 0);
});

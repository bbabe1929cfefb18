import assert from "node:assert/strict";
import { Balancer, NONE } from "../../../src/balance/balancer.ts";
import type { BalancePolicy } from "../../../src/config/types.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

/** A seeded PRNG (mulberry32): distributions are exact and repeatable. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function balancer(
  policy: BalancePolicy,
  weights: number[],
  backups = weights.map(() => false),
) {
  const clock = new FakeClock(0);
  return {
    clock,
    balancer: new Balancer({
      policy,
      weights,
      backups,
      clock,
      random: seeded(7),
    }),
  };
}

const allUp = () => false;

function counts(pick: () => number, n: number, size: number): number[] {
  const seen = new Array(size).fill(0);
  for (let i = 0; i < n; i++) seen[pick()]++;
  return seen;
}

Deno.test("round_robin: equal weights take exact turns", () => {
  const { balancer: b } = balancer("round_robin", [1, 1, 1]);
  const picks = Array.from({ length: 6 }, () => b.pick(allUp, NONE));
  assert.deepEqual(picks, [0, 1, 2, 0, 1, 2]);
});

Deno.test("round_robin: nginx's smooth weighted sequence for weights 5, 1, 1", () => {
  const { balancer: b } = balancer("round_robin", [5, 1, 1]);
  const picks = Array.from({ length: 7 }, () => b.pick(allUp, NONE));
  // The example of nginx's commit 52327e0627f4 (smooth weighted round robin).
  assert.deepEqual(picks, [0, 0, 1, 0, 2, 0, 0]);
});

Deno.test("round_robin skips upstreams that are out, and the one that just failed", () => {
  const { balancer: b } = balancer("round_robin", [1, 1, 1]);
  const outOne = (i: number) => i === 1;
  const picks = Array.from({ length: 4 }, () => b.pick(outOne, NONE));
  assert.deepEqual(picks, [0, 2, 0, 2]);
  assert.equal(b.pick(allUp, 0) !== 0, true);
});

Deno.test("p2c with equal costs spreads evenly; weights shift the share", () => {
  const even = balancer("p2c", [1, 1, 1]).balancer;
  const spread = counts(() => even.pick(allUp, NONE), 30_000, 3);
  for (const n of spread) assert.ok(Math.abs(n - 10_000) < 600, `${spread}`);

  // Weights divide the cost: with in-flight load, heavier upstreams take more.
  const { balancer: weighted } = balancer("p2c", [3, 1]);
  const share = [0, 0];
  for (let i = 0; i < 4_000; i++) {
    const pick = weighted.pick(allUp, NONE);
    share[pick]++;
    weighted.started(pick);
    if (i % 4 === 3) {
      for (const up of [0, 1]) {
        while (weighted.inflight(up) > 0) weighted.finished(up, 10, false);
      }
    }
  }
  assert.ok(share[0] > share[1] * 2, `${share}`);
});

Deno.test("p2c steers away from a slow upstream and back once it recovers", () => {
  const { clock, balancer: b } = balancer("p2c", [1, 1, 1]);
  for (let round = 0; round < 3; round++) {
    for (const up of [0, 1, 2]) {
      b.started(up);
      b.finished(up, up === 2 ? 200 : 10, false);
    }
  }
  const slow = counts(() => b.pick(allUp, NONE), 3_000, 3);
  // Only a draw of the two fast ones never happens: 2 is never cheaper.
  assert.equal(slow[2], 0, `${slow}`);
  // Idle, its estimate decays (tower's decay towards 0): it is tried again.
  clock.advance(60_000);
  for (const up of [0, 1]) {
    b.started(up);
    b.finished(up, 10, false);
  }
  const later = counts(() => b.pick(allUp, NONE), 3_000, 3);
  assert.ok(later[2] > 300, `${later}`);
});

Deno.test("p2c: a failure counts as slow, so a fast-failing upstream is not preferred", () => {
  const { balancer: b } = balancer("p2c", [1, 1]);
  b.started(0);
  b.finished(0, 10, false);
  b.started(1);
  b.finished(1, 1, true);
  assert.ok(b.cost(1) > b.cost(0) * 10);
});

Deno.test("p2c: a new upstream starts at the mean cost of the others", () => {
  const { balancer: b } = balancer("p2c", [1, 1, 1]);
  b.started(0);
  b.finished(0, 10, false);
  b.started(1);
  b.finished(1, 30, false);
  assert.equal(b.cost(2), 20);
});

Deno.test("p2c: in-flight attempts raise the cost (least-loaded under concurrency)", () => {
  const { balancer: b } = balancer("p2c", [1, 1]);
  for (const up of [0, 1]) {
    b.started(up);
    b.finished(up, 10, false);
  }
  for (let i = 0; i < 5; i++) b.started(0);
  assert.equal(b.pick(allUp, NONE), 1);
});

Deno.test("failover: list order, the next only when the one before is out", () => {
  const { balancer: b } = balancer("failover", [1, 1, 1]);
  assert.deepEqual(counts(() => b.pick(allUp, NONE), 100, 3), [100, 0, 0]);
  assert.equal(b.pick((i) => i === 0, NONE), 1);
  assert.equal(b.pick(allUp, 0), 1);
});

Deno.test("backups take traffic only while every primary is out", () => {
  for (const policy of ["p2c", "round_robin", "failover"] as const) {
    const { balancer: b } = balancer(policy, [1, 1, 1], [false, false, true]);
    const normal = counts(() => b.pick(allUp, NONE), 300, 3);
    assert.equal(normal[2], 0, `${policy}: ${normal}`);
    assert.equal(b.pick((i) => i < 2, NONE), 2, policy);
    assert.equal(b.pick(() => true, NONE), NONE, policy);
  }
});

Deno.test("a retry avoids the upstream that failed unless it is the only one left", () => {
  const { balancer: b } = balancer("p2c", [1, 1]);
  assert.deepEqual(counts(() => b.pick(allUp, 0), 200, 2), [0, 200]);
  assert.equal(b.pick((i) => i === 1, 0), 0);
  const single = balancer("p2c", [1]).balancer;
  assert.equal(single.pick(allUp, 0), 0);
  assert.equal(single.pick(() => true, NONE), NONE);
});

Deno.test("carryLatency: a reloaded pool starts with the old one's estimate, not its in-flight count", () => {
  const old = balancer("p2c", [1, 1]);
  old.balancer.started(1);
  old.balancer.started(1);
  old.balancer.finished(1, 400, false); // one still in flight
  const next = new Balancer({
    policy: "p2c",
    weights: [1, 1, 1],
    backups: [false, false, false],
    clock: old.clock,
    random: seeded(7),
  });
  next.carryLatency(old.balancer, 1, 2);
  assert.equal(next.inflight(2), 0);
  // (estimate) × (in flight + 1): the old pool's 400 ms over 2, here over 1.
  assert.equal(next.cost(2), old.balancer.cost(1) / 2);
});

import assert from "node:assert/strict";
import type { BreakerPolicy } from "../../../src/config/types.ts";
import {
  type BreakerState,
  CircuitBreaker,
  HALF_OPEN_RETRY_AFTER_MS,
  type LocalAdmission,
} from "../../../src/resilience/circuit_breaker.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { breakerPolicy } from "../../_fixtures/breaker_policy.ts";

const OK = { failure: false, durationMs: 10 };
const FAIL = { failure: true, durationMs: 10 };

const policy = breakerPolicy;

function setup(overrides: Partial<BreakerPolicy> = {}) {
  const clock = new FakeClock(0);
  const transitions: string[] = [];
  const breaker = new CircuitBreaker({
    policy: policy(overrides),
    clock,
    onTransition: (from, to, cause) =>
      transitions.push(`${from.state}->${to.state}:${cause}`),
  });
  return { clock, breaker, transitions };
}

function call(
  breaker: CircuitBreaker,
  outcome: { failure: boolean; durationMs: number },
): LocalAdmission {
  const admission = breaker.admit();
  if (admission.allowed) {
    breaker.record(admission.epoch, admission.probe, outcome);
  }
  return admission;
}

function allowed(admission: LocalAdmission) {
  assert.ok(admission.allowed, "expected the call to be allowed");
  return admission;
}

/** Drives a breaker from closed to open with `minCalls` failures. */
function open(breaker: CircuitBreaker, calls = 4): void {
  for (let i = 0; i < calls; i++) call(breaker, FAIL);
  assert.equal(breaker.state.state, "open");
}

Deno.test("closed breaker stays closed below minCalls even at 100% failures", () => {
  const { breaker } = setup();
  for (let i = 0; i < 3; i++) allowed(call(breaker, FAIL));
  assert.equal(breaker.state.state, "closed");
  assert.deepEqual(breaker.stats(), {
    calls: 3,
    failureRate: 1,
    slowCallRate: 0,
  });
});

Deno.test("count window opens when the failure rate reaches the threshold", () => {
  const { breaker, transitions, clock } = setup();
  call(breaker, OK);
  call(breaker, OK);
  call(breaker, FAIL);
  assert.equal(breaker.state.state, "closed"); // 3 calls < minCalls
  call(breaker, FAIL); // 2/4 = 0.5 >= 0.5
  const state = breaker.state;
  assert.equal(state.state, "open");
  assert.equal(state.epoch, 1);
  assert.equal(state.openUntil, clock.now() + 5000);
  assert.deepEqual(transitions, ["closed->open:local"]);
});

Deno.test("count window forgets calls older than the last `size`", () => {
  const { breaker } = setup({ size: 4, minCalls: 4, failureRate: 0.75 });
  call(breaker, FAIL);
  call(breaker, FAIL);
  call(breaker, OK);
  call(breaker, OK); // 2/4
  call(breaker, OK); // first FAIL slides out: 1/4
  call(breaker, FAIL); // 1/4 again (second FAIL out, new FAIL in)
  call(breaker, FAIL); // 2/4
  assert.equal(breaker.state.state, "closed");
  call(breaker, FAIL); // 3/4 = 0.75
  assert.equal(breaker.state.state, "open");
});

Deno.test("minCalls above a count window's size is capped at the size", () => {
  const { breaker } = setup({ size: 3, minCalls: 10 });
  open(breaker, 3);
});

Deno.test("time window counts only the last `size` seconds", () => {
  const { breaker, clock } = setup({
    window: "time",
    size: 2,
    minCalls: 3,
  });
  call(breaker, FAIL);
  call(breaker, FAIL);
  clock.advance(2000); // both slide out of a 2 s window
  call(breaker, FAIL);
  call(breaker, OK);
  assert.equal(breaker.state.state, "closed");
  assert.equal(breaker.stats().calls, 2);
  clock.advance(1000); // still within 2 s of the last two
  call(breaker, FAIL);
  assert.equal(breaker.state.state, "open"); // 2 of 3 failed
});

Deno.test("slow calls count for nothing when slowCallMs is null", () => {
  const { breaker } = setup({ slowCallMs: null, slowCallRate: 0.1 });
  for (let i = 0; i < 6; i++) {
    call(breaker, { failure: false, durationMs: 9e5 });
  }
  assert.equal(breaker.state.state, "closed");
  assert.equal(breaker.stats().slowCallRate, 0);
});

Deno.test("slow-call rate opens at exactly the configured share", () => {
  const { breaker } = setup({
    slowCallMs: 500,
    slowCallRate: 0.75,
    failureRate: 1,
  });
  const slow = { failure: false, durationMs: 501 };
  call(breaker, slow);
  call(breaker, slow);
  call(breaker, { failure: false, durationMs: 500 }); // not slower than 500
  assert.equal(breaker.state.state, "closed");
  call(breaker, slow); // 3 of 4 slow
  assert.equal(breaker.state.state, "open");
});

Deno.test("open breaker rejects with the time left until half-open", () => {
  const { breaker, clock } = setup();
  open(breaker);
  assert.deepEqual(breaker.admit(), { allowed: false, retryAfterMs: 5000 });
  clock.advance(3200);
  assert.deepEqual(breaker.admit(), { allowed: false, retryAfterMs: 1800 });
});

Deno.test("after openMs exactly halfOpenProbes probes go out", () => {
  const { breaker, clock, transitions } = setup({ halfOpenProbes: 2 });
  open(breaker);
  clock.advance(5000);
  const first = allowed(breaker.admit());
  const second = allowed(breaker.admit());
  assert.equal(first.probe, true);
  assert.equal(second.probe, true);
  assert.equal(breaker.state.state, "half_open");
  assert.equal(breaker.state.epoch, 2);
  assert.deepEqual(breaker.admit(), {
    allowed: false,
    retryAfterMs: HALF_OPEN_RETRY_AFTER_MS,
  });
  assert.deepEqual(transitions, [
    "closed->open:local",
    "open->half_open:local",
  ]);
});

Deno.test("all probes succeeding closes the breaker with an empty window", () => {
  const { breaker, clock } = setup({ halfOpenProbes: 2 });
  open(breaker);
  clock.advance(5000);
  const first = allowed(breaker.admit());
  const second = allowed(breaker.admit());
  breaker.record(first.epoch, true, OK);
  assert.equal(breaker.state.state, "half_open");
  // A finished probe does not free its slot: exactly two probes per half-open.
  assert.equal(breaker.admit().allowed, false);
  breaker.record(second.epoch, true, OK);
  assert.equal(breaker.state.state, "closed");
  assert.equal(breaker.state.epoch, 3);
  assert.equal(breaker.stats().calls, 0);
  assert.equal(allowed(breaker.admit()).probe, false);
});

Deno.test("one failed (or slow) probe opens the breaker again", () => {
  for (const outcome of [FAIL, { failure: false, durationMs: 2000 }]) {
    const { breaker, clock } = setup({ halfOpenProbes: 2, slowCallMs: 1000 });
    open(breaker);
    clock.advance(5000);
    const first = allowed(breaker.admit());
    const second = allowed(breaker.admit());
    breaker.record(first.epoch, true, outcome);
    const state = breaker.state;
    assert.equal(state.state, "open");
    assert.equal(state.openUntil, clock.now() + 5000);
    breaker.record(second.epoch, true, OK); // late probe of the old epoch
    assert.equal(breaker.state.state, "open");
  }
});

Deno.test("outcomes of calls admitted under an earlier epoch are ignored", () => {
  const { breaker, clock } = setup({ halfOpenProbes: 1 });
  const early = allowed(breaker.admit());
  open(breaker);
  clock.advance(5000);
  const probe = allowed(breaker.admit());
  breaker.record(probe.epoch, true, OK);
  assert.equal(breaker.state.state, "closed");
  breaker.record(early.epoch, false, FAIL);
  assert.equal(breaker.stats().calls, 0);
});

Deno.test("forced open never half-opens; forced close never opens; reset clears", () => {
  const { breaker, clock } = setup();
  breaker.force("open");
  assert.deepEqual(
    { ...breaker.state, changedAt: 0 },
    { state: "open", epoch: 1, changedAt: 0, openUntil: null, forced: true },
  );
  clock.advance(60_000);
  assert.deepEqual(breaker.admit(), { allowed: false, retryAfterMs: 5000 });
  breaker.force("close");
  for (let i = 0; i < 10; i++) allowed(call(breaker, FAIL));
  assert.equal(breaker.state.state, "closed");
  assert.equal(breaker.state.forced, true);
  breaker.force("reset");
  assert.equal(breaker.state.forced, false);
  assert.equal(breaker.stats().calls, 0);
  open(breaker);
});

Deno.test("adopt: a newer epoch wins, an older one is ignored, a tie goes to the later change", () => {
  const { breaker, transitions } = setup();
  const remote = (over: Partial<BreakerState>): BreakerState => ({
    state: "open",
    epoch: 3,
    changedAt: 100,
    openUntil: 9_999,
    forced: false,
    ...over,
  });
  assert.equal(breaker.adopt(remote({})), true);
  assert.equal(breaker.state.epoch, 3);
  assert.equal(breaker.adopt(remote({ epoch: 2, state: "closed" })), false);
  assert.equal(breaker.state.state, "open");
  assert.equal(
    breaker.adopt(remote({ state: "closed", changedAt: 50, openUntil: null })),
    false,
  );
  assert.equal(
    breaker.adopt(remote({ state: "closed", changedAt: 150, openUntil: null })),
    true,
  );
  assert.equal(breaker.state.state, "closed");
  assert.deepEqual(transitions, [
    "closed->open:adopted",
    "open->closed:adopted",
  ]);
});

Deno.test("adopt: a stale open (openUntil passed) reads as ready for half-open", () => {
  const { breaker, clock } = setup({ halfOpenProbes: 1 });
  clock.advance(10_000);
  breaker.adopt({
    state: "open",
    epoch: 7,
    changedAt: 1_000,
    openUntil: 6_000,
    forced: false,
  });
  const probe = allowed(breaker.admit());
  assert.equal(probe.probe, true);
  assert.equal(breaker.state.state, "half_open");
  assert.equal(breaker.state.epoch, 8);
});

Deno.test("consecutiveFailures opens after N failures in a row, before the window would", () => {
  const { breaker } = setup({
    size: 100,
    minCalls: 100,
    consecutiveFailures: 3,
  });
  call(breaker, FAIL);
  call(breaker, FAIL);
  call(breaker, OK); // a success breaks the run
  call(breaker, FAIL);
  call(breaker, FAIL);
  assert.equal(breaker.state.state, "closed");
  call(breaker, FAIL);
  assert.equal(breaker.state.state, "open");
});

Deno.test("each re-open after a failed probe doubles the open time, up to maxOpenMs; a close starts over", () => {
  const { clock, breaker } = setup({
    consecutiveFailures: 1,
    openMs: 1_000,
    maxOpenMs: 3_000,
    halfOpenProbes: 1,
  });
  const openFor = () => breaker.state.openUntil! - clock.now();
  call(breaker, FAIL);
  assert.equal(openFor(), 1_000);
  const failProbe = () => {
    clock.advance(breaker.state.openUntil! - clock.now());
    call(breaker, FAIL);
  };
  failProbe();
  assert.deepEqual([openFor(), breaker.state.reopens], [2_000, 1]);
  failProbe();
  assert.deepEqual([openFor(), breaker.state.reopens], [3_000, 2]);
  failProbe();
  assert.equal(openFor(), 3_000);
  clock.advance(3_000);
  call(breaker, OK);
  assert.equal(breaker.state.state, "closed");
  call(breaker, FAIL);
  assert.equal(openFor(), 1_000);
});

Deno.test("the grown open time travels with the state: an adopting breaker re-opens longer", () => {
  const a = setup({ consecutiveFailures: 1, openMs: 1_000, maxOpenMs: 60_000 });
  const b = setup({ consecutiveFailures: 1, openMs: 1_000, maxOpenMs: 60_000 });
  call(a.breaker, FAIL);
  a.clock.advance(1_000);
  call(a.breaker, FAIL); // failed probe: open 2 s, reopens 1
  b.clock.advance(1_000);
  assert.ok(b.breaker.adopt(a.breaker.state));
  b.clock.advance(2_000);
  call(b.breaker, FAIL); // b's failed probe grows it further
  assert.equal(b.breaker.state.openUntil! - b.clock.now(), 4_000);
});

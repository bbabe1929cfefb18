import assert from "node:assert/strict";
import fc from "fast-check";
import { systemClock } from "../../../src/resilience/clock.ts";
import { sharedDeadlines } from "../../../src/resilience/shared_deadlines.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

Deno.test("sharedDeadlines fires each deadline at its own due time, on one timer per duration", () => {
  const base = new FakeClock(0);
  const clock = sharedDeadlines(base);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`a@${base.now()}`), 100);
  base.advance(30);
  clock.setTimeout(() => fired.push(`b@${base.now()}`), 100);
  clock.setTimeout(() => fired.push(`c@${base.now()}`), 50);
  assert.equal(base.pending(), 2); // one per duration: 100 and 50
  base.advance(49);
  assert.deepEqual(fired, []);
  base.advance(1);
  assert.deepEqual(fired, ["c@80"]);
  base.advance(19);
  assert.deepEqual(fired, ["c@80"]);
  base.advance(1);
  assert.deepEqual(fired, ["c@80", "a@100"]);
  base.advance(30);
  assert.deepEqual(fired, ["c@80", "a@100", "b@130"]);
  assert.equal(base.pending(), 0);
});

Deno.test("sharedDeadlines: a cancelled deadline never fires and the last cancel clears the platform timer", () => {
  const base = new FakeClock(0);
  const clock = sharedDeadlines(base);
  const fired: number[] = [];
  const first = clock.setTimeout(() => fired.push(1), 1000);
  base.advance(10);
  const second = clock.setTimeout(() => fired.push(2), 1000);
  first();
  first(); // idempotent
  assert.equal(base.pending(), 1);
  // The platform timer was armed for the first deadline: it fires early for
  // the second, which re-arms it for the rest instead of firing it.
  base.advance(990);
  assert.deepEqual(fired, []);
  assert.equal(base.pending(), 1);
  base.advance(9);
  assert.deepEqual(fired, []);
  second();
  assert.equal(base.pending(), 0);
  base.advance(10_000);
  assert.deepEqual(fired, []);
});

Deno.test("sharedDeadlines: callbacks may set and cancel deadlines of the same duration while firing", () => {
  const base = new FakeClock(0);
  const clock = sharedDeadlines(base);
  const fired: string[] = [];
  let cancelLater = () => {};
  clock.setTimeout(() => {
    fired.push(`a@${base.now()}`);
    cancelLater();
    clock.setTimeout(() => fired.push(`c@${base.now()}`), 100);
  }, 100);
  cancelLater = clock.setTimeout(() => fired.push("b"), 100);
  base.advance(100);
  assert.deepEqual(fired, ["a@100"]);
  assert.equal(base.pending(), 1);
  base.advance(100);
  assert.deepEqual(fired, ["a@100", "c@200"]);
  assert.equal(base.pending(), 0);
});

Deno.test("sharedDeadlines passes zero, negative and infinite delays to the clock as they are", () => {
  const base = new FakeClock(0);
  const clock = sharedDeadlines(base);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(0), 0);
  clock.setTimeout(() => fired.push(-1), -5);
  const cancel = clock.setTimeout(() => fired.push(Infinity), Infinity);
  assert.equal(base.pending(), 3);
  base.advance(0);
  assert.deepEqual(fired, [0, -1]);
  cancel();
  assert.equal(base.pending(), 0);
});

Deno.test("sharedDeadlines: many deadlines cancelled out of order: the rest still fire exactly", () => {
  const base = new FakeClock(0);
  const clock = sharedDeadlines(base);
  const fired: number[] = [];
  const live: (() => void)[] = [];
  for (let i = 0; i < 5000; i++) {
    const at = base.now() + 500;
    live.push(clock.setTimeout(() => fired.push(at), 500));
    // Keep only the latest few pending, cancelling the older ones.
    if (live.length > 3) live.splice(i % 2 === 0 ? 0 : 1, 1)[0]();
    base.advance(1);
  }
  assert.equal(base.pending(), 1);
  base.advance(1000);
  assert.equal(fired.length, 3);
  for (const at of fired) assert.ok(at >= 5000);
  assert.equal(base.pending(), 0);
});

Deno.test("sharedDeadlines fires like separate timers would (property)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          gapMs: fc.integer({ min: 0, max: 50 }),
          ms: fc.constantFrom(10, 25, 100),
          cancelAfterMs: fc.option(fc.integer({ min: 0, max: 150 })),
        }),
        { maxLength: 40 },
      ),
      (plan) => {
        const run = (shared: boolean) => {
          const base = new FakeClock(0);
          const clock = shared ? sharedDeadlines(base) : base;
          const fired: string[] = [];
          plan.forEach((step, i) => {
            base.advance(step.gapMs);
            const cancel = clock.setTimeout(
              () => fired.push(`${i}@${base.now()}`),
              step.ms,
            );
            if (step.cancelAfterMs !== null) {
              // Half a millisecond off: a tie between a cancel and a
              // deadline is ordered by timer creation, which sharing changes.
              base.setTimeout(cancel, step.cancelAfterMs + 0.5);
            }
          });
          base.advance(1000);
          assert.equal(base.pending(), 0);
          return fired.sort();
        };
        assert.deepEqual(run(true), run(false));
      },
    ),
  );
});

Deno.test("sharedDeadlines on the system clock leaves no timer behind once all are cancelled", () => {
  const clock = sharedDeadlines(systemClock);
  const cancels = Array.from(
    { length: 100 },
    (_, i) => clock.setTimeout(() => {}, 10_000 + (i % 3)),
  );
  for (const cancel of cancels.reverse()) cancel();
  // The sanitizer fails this test if a platform timer is still pending.
});

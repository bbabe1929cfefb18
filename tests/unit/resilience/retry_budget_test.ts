import assert from "node:assert/strict";
import fc from "fast-check";
import { RetryBudget } from "../../../src/resilience/retry_budget.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

/** A clock at the start of a whole second, so bucket boundaries are predictable. */
const startOfSecond = () => new FakeClock(1_700_000_000_000);

function offer(budget: RetryBudget, requests: number): void {
  for (let i = 0; i < requests; i++) budget.recordRequest();
}

function acquireAll(budget: RetryBudget, limit = 10_000): number {
  let granted = 0;
  while (granted < limit && budget.tryAcquireRetry()) granted++;
  return granted;
}

Deno.test("RetryBudget allows ratio × requests + minPerSecond × windowSeconds", () => {
  const clock = startOfSecond();
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1 }, clock);
  offer(budget, 50);
  assert.equal(acquireAll(budget), 20); // 0.2 * 50 + 1 * 10
  assert.equal(budget.requests, 50);
  assert.equal(budget.retries, 20);
  budget.recordRequest();
  assert.equal(budget.tryAcquireRetry(), false); // 21 > 0.2 * 51 + 10
  offer(budget, 4);
  assert.equal(budget.tryAcquireRetry(), true); // 21 <= 0.2 * 55 + 10
});

Deno.test("RetryBudget denied retries are not counted", () => {
  const budget = new RetryBudget(
    { ratio: 0, minPerSecond: 0.1 },
    startOfSecond(),
  );
  assert.equal(budget.tryAcquireRetry(), true);
  for (let i = 0; i < 5; i++) assert.equal(budget.tryAcquireRetry(), false);
  assert.equal(budget.retries, 1);
});

Deno.test("RetryBudget with no reserve and no requests allows nothing", () => {
  const budget = new RetryBudget(
    { ratio: 1, minPerSecond: 0 },
    startOfSecond(),
  );
  assert.equal(budget.tryAcquireRetry(), false);
  budget.recordRequest();
  assert.equal(budget.tryAcquireRetry(), true);
  assert.equal(budget.tryAcquireRetry(), false);
});

Deno.test("RetryBudget window slides: requests and retries age out after windowMs", () => {
  const clock = startOfSecond();
  const budget = new RetryBudget({
    ratio: 0.5,
    minPerSecond: 0,
    windowMs: 3000,
  }, clock);
  offer(budget, 4);
  assert.equal(acquireAll(budget), 2);
  clock.advance(1000);
  offer(budget, 2);
  assert.equal(budget.requests, 6);
  assert.equal(acquireAll(budget), 1); // 3 <= 0.5 * 6
  clock.advance(1999); // still within the window of the first second
  assert.equal(budget.requests, 6);
  assert.equal(budget.retries, 3);
  clock.advance(1); // the first second leaves the window
  assert.equal(budget.requests, 2);
  assert.equal(budget.retries, 1);
  clock.advance(1000);
  assert.equal(budget.requests, 0);
  assert.equal(budget.retries, 0);
});

Deno.test("RetryBudget after a long silence starts from an empty window", () => {
  const clock = startOfSecond();
  const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 }, clock);
  offer(budget, 10);
  acquireAll(budget);
  clock.advance(3_600_000);
  assert.equal(budget.requests, 0);
  assert.equal(budget.retries, 0);
  assert.equal(budget.tryAcquireRetry(), false);
});

Deno.test("RetryBudget does not let old requests pay for retries the next window would see", () => {
  const clock = startOfSecond();
  const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 }, clock);
  offer(budget, 100);
  clock.advance(9000);
  // The 100 requests are still in the window, but a retry now would still be
  // in the window starting one second later, which has no requests at all.
  assert.equal(budget.requests, 100);
  assert.equal(budget.tryAcquireRetry(), false);
  budget.recordRequest();
  assert.equal(acquireAll(budget), 1);
});

Deno.test("RetryBudget keeps counting when the clock steps back", () => {
  const clock = {
    nowMs: 10_000,
    now: () => clock.nowMs,
    setTimeout: () => () => {},
  };
  const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 }, clock);
  offer(budget, 2);
  clock.nowMs = 5_000;
  budget.recordRequest();
  assert.equal(budget.requests, 3);
  assert.equal(acquireAll(budget), 3);
});

Deno.test("RetryBudget rejects invalid options", () => {
  const clock = startOfSecond();
  assert.throws(
    () => new RetryBudget({ ratio: -0.1, minPerSecond: 1 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RetryBudget({ ratio: NaN, minPerSecond: 1 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RetryBudget({ ratio: 0.2, minPerSecond: -1 }, clock),
    RangeError,
  );
  assert.throws(
    () =>
      new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 1500 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 0 }, clock),
    RangeError,
  );
});

type Step =
  | { kind: "request"; count: number }
  | { kind: "retry"; count: number }
  | { kind: "advance"; ms: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("request" as const),
    count: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({
    kind: fc.constant("retry" as const),
    count: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({
    kind: fc.constant("advance" as const),
    ms: fc.integer({ min: 0, max: 4000 }),
  }),
);

Deno.test("RetryBudget property: retries in any 10 s window <= ratio × requests + minPerSecond × 10", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 2, noNaN: true }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 999 }),
      fc.array(stepArbitrary, { maxLength: 80 }),
      (ratio, minPerSecond, startOffsetMs, steps) => {
        const clock = new FakeClock(1_700_000_000_000 + startOffsetMs);
        const budget = new RetryBudget({ ratio, minPerSecond }, clock);
        // Ground truth per whole second, kept by the test itself.
        const requestsAt = new Map<number, number>();
        const retriesAt = new Map<number, number>();
        const bump = (counts: Map<number, number>) => {
          const second = Math.floor(clock.now() / 1000);
          counts.set(second, (counts.get(second) ?? 0) + 1);
        };
        for (const step of steps) {
          if (step.kind === "advance") clock.advance(step.ms);
          for (let i = 0; step.kind === "request" && i < step.count; i++) {
            budget.recordRequest();
            bump(requestsAt);
          }
          for (let i = 0; step.kind === "retry" && i < step.count; i++) {
            if (budget.tryAcquireRetry()) bump(retriesAt);
          }
        }
        const seconds = [...requestsAt.keys(), ...retriesAt.keys()];
        if (seconds.length === 0) return;
        const first = Math.min(...seconds);
        const last = Math.max(...seconds);
        // Every 10-second window that overlaps the activity at all.
        for (let windowStart = first - 9; windowStart <= last; windowStart++) {
          let requests = 0;
          let retries = 0;
          for (let s = windowStart; s < windowStart + 10; s++) {
            requests += requestsAt.get(s) ?? 0;
            retries += retriesAt.get(s) ?? 0;
          }
          assert.ok(
            retries <= ratio * requests + minPerSecond * 10,
            `window at ${windowStart}: ${retries} retries for ${requests} requests`,
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("RetryBudget counts match a direct count of the current window", () => {
  fc.assert(
    fc.property(fc.array(stepArbitrary, { maxLength: 60 }), (steps) => {
      const clock = startOfSecond();
      const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 1 }, clock);
      const requestTimes: number[] = [];
      const retryTimes: number[] = [];
      for (const step of steps) {
        if (step.kind === "advance") clock.advance(step.ms);
        for (let i = 0; step.kind === "request" && i < step.count; i++) {
          budget.recordRequest();
          requestTimes.push(clock.now());
        }
        for (let i = 0; step.kind === "retry" && i < step.count; i++) {
          if (budget.tryAcquireRetry()) retryTimes.push(clock.now());
        }
        const oldestSecond = Math.floor(clock.now() / 1000) - 9;
        const inWindow = (t: number) => Math.floor(t / 1000) >= oldestSecond;
        assert.equal(budget.requests, requestTimes.filter(inWindow).length);
        assert.equal(budget.retries, retryTimes.filter(inWindow).length);
      }
    }),
  );
});

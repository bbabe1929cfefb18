import assert from "node:assert/strict";
import type { RateLimitPolicy } from "../../../src/config/types.ts";
import { StoreGuard } from "../../../src/resilience/breaker_store_guard.ts";
import {
  type FleetCounter,
  FleetRateLimiter,
} from "../../../src/resilience/fleet_rate_limiter.ts";
import { RateLimiter } from "../../../src/resilience/rate_limiter.ts";
import { MemoryBreakerStore } from "../../../src/runtime/memory/breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

const POLICY: RateLimitPolicy = {
  requests: 3,
  windowSeconds: 60,
  scope: "fleet",
};

/** A counter that works, throws or hangs on demand, counting its calls. */
class SwitchableCounter implements FleetCounter {
  mode: "ok" | "throw" | "hang" = "ok";
  calls = 0;
  constructor(readonly inner: FleetCounter) {}
  increment(key: string, options: { expireInMs: number }) {
    this.calls++;
    if (this.mode === "throw") return Promise.reject(new Error("store down"));
    if (this.mode === "hang") return new Promise<number>(() => {});
    return this.inner.increment(key, options);
  }
}

/** One gateway instance's limiter for route "r" on a shared counter. */
function instance(clock: FakeClock, counter: FleetCounter, guard?: StoreGuard) {
  const errors: unknown[] = [];
  const storeGuard = guard ?? new StoreGuard(clock, 250, (e) => errors.push(e));
  return {
    limiter: new FleetRateLimiter({
      name: "r",
      policy: POLICY,
      clock,
      counter,
      guard: storeGuard,
      local: new RateLimiter(POLICY, clock),
    }),
    guard: storeGuard,
    errors,
  };
}

Deno.test("instances sharing a counter allow `requests` per window in total, then the next window", async () => {
  // 20 s into a minute: the window ends in 40 s.
  const clock = new FakeClock(1_700_000_040_000 + 20_000);
  const store = new MemoryBreakerStore({ clock });
  const a = instance(clock, store).limiter, b = instance(clock, store).limiter;
  const answers = await Promise.all(
    [a, b, a, b, a].map((limiter) => limiter.take("192.0.2.1")),
  );
  assert.deepEqual(answers, [
    { allowed: true },
    { allowed: true },
    { allowed: true },
    { allowed: false, retryAfterMs: 40_000 },
    { allowed: false, retryAfterMs: 40_000 },
  ]);
  assert.deepEqual(await b.take("192.0.2.2"), { allowed: true });
  clock.advance(40_000);
  assert.deepEqual(await a.take("192.0.2.1"), { allowed: true });
});

Deno.test("a failing store: local limits at once, no store call while unhealthy, shared again after", async () => {
  const clock = new FakeClock(1_700_000_040_000);
  const counter = new SwitchableCounter(new MemoryBreakerStore({ clock }));
  const { limiter, guard, errors } = instance(clock, counter);
  counter.mode = "throw";
  assert.deepEqual(await limiter.take("c"), { allowed: true });
  assert.equal(guard.healthy, false);
  assert.equal(errors.length, 1);
  const callsWhileDown = counter.calls;
  // Per instance now: the local limiter's 3, answered without a promise.
  assert.deepEqual(limiter.take("c"), { allowed: true });
  assert.deepEqual(limiter.take("c"), { allowed: true });
  assert.equal((limiter.take("c") as { allowed: boolean }).allowed, false);
  assert.equal(counter.calls, callsWhileDown);
  // The board's next sync succeeds: the guard is healthy, the counter counts.
  counter.mode = "ok";
  await guard.call(() => Promise.resolve());
  assert.deepEqual(await limiter.take("c"), { allowed: true });
  assert.equal(counter.calls, callsWhileDown + 1);
});

Deno.test("a hanging store costs a request at most the guard's timeout", async () => {
  const clock = new FakeClock(1_700_000_040_000);
  const counter = new SwitchableCounter(new MemoryBreakerStore({ clock }));
  const { limiter, guard } = instance(clock, counter);
  counter.mode = "hang";
  const answer = limiter.take("d");
  await clock.advanceAsync(250);
  assert.deepEqual(await answer, { allowed: true });
  assert.equal(
    guard.health().lastError,
    "Breaker store call timed out after 250 ms",
  );
  guard.close();
});

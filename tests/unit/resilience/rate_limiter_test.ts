import assert from "node:assert/strict";
import fc from "fast-check";
import { RateLimiter } from "../../../src/resilience/rate_limiter.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

/** A clock at the start of a minute, so windows line up with the test's steps. */
function minuteClock(): FakeClock {
  return new FakeClock(1_700_000_040_000);
}

Deno.test("allows `requests` per key, then refuses with the wait until one more fits", () => {
  const clock = minuteClock();
  const limiter = new RateLimiter({ requests: 3, windowSeconds: 60 }, clock);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.take("a"), { allowed: true });
  }
  // The next window opens with the 3 still weighing fully; a third of the
  // way in they weigh 2, leaving room for one.
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 80_000 });
  assert.deepEqual(limiter.take("b"), { allowed: true });
  clock.advance(20_000);
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 60_000 });
});

Deno.test("the previous window weighs on the next one as it slides out", () => {
  const clock = minuteClock();
  const limiter = new RateLimiter({ requests: 4, windowSeconds: 60 }, clock);
  for (let i = 0; i < 4; i++) assert.equal(limiter.take("a").allowed, true);
  // Next window starts: the previous 4 still count fully, so none is left.
  clock.advance(60_000);
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 15_000 });
  // A quarter in: 4 × 0.75 = 3 weighted, one request fits.
  clock.advance(15_000);
  assert.equal(limiter.take("a").allowed, true);
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 15_000 });
  clock.advance(15_000);
  assert.equal(limiter.take("a").allowed, true);
  // 4 × 0.5 + 2 = 4: full until 4 × 0.25 + 2 leaves room for one more.
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 15_000 });
  clock.advance(14_999);
  assert.equal(limiter.take("a").allowed, false);
  clock.advance(1);
  assert.equal(limiter.take("a").allowed, true);
});

Deno.test("a key idle for two windows starts afresh", () => {
  const clock = minuteClock();
  const limiter = new RateLimiter({ requests: 2, windowSeconds: 60 }, clock);
  limiter.take("a");
  limiter.take("a");
  clock.advance(120_000);
  assert.equal(limiter.take("a").allowed, true);
  assert.equal(limiter.take("a").allowed, true);
  assert.equal(limiter.take("a").allowed, false);
});

Deno.test("memory is bounded: the least recently seen key is forgotten", () => {
  const clock = minuteClock();
  const limiter = new RateLimiter({ requests: 1, windowSeconds: 60 }, clock, {
    maxKeys: 3,
  });
  for (const key of ["a", "b", "c"]) limiter.take(key);
  assert.equal(limiter.take("a").allowed, false); // a is now the newest
  limiter.take("d"); // evicts b, the least recently seen
  assert.equal(limiter.size, 3);
  assert.equal(limiter.take("a").allowed, false);
  assert.equal(limiter.take("c").allowed, false);
  assert.equal(limiter.take("b").allowed, true); // forgotten, so fresh
  for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`);
  assert.equal(limiter.size, 3);
});

Deno.test("the default key bound is 10 000", () => {
  const limiter = new RateLimiter(
    { requests: 1, windowSeconds: 1 },
    minuteClock(),
  );
  for (let i = 0; i < 10_050; i++) limiter.take(`k${i}`);
  assert.equal(limiter.size, 10_000);
});

Deno.test("invalid settings are refused up front", () => {
  const clock = minuteClock();
  assert.throws(
    () => new RateLimiter({ requests: 0, windowSeconds: 1 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RateLimiter({ requests: 1.5, windowSeconds: 1 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RateLimiter({ requests: 1, windowSeconds: 0 }, clock),
    RangeError,
  );
  assert.throws(
    () => new RateLimiter({ requests: 1, windowSeconds: NaN }, clock),
    RangeError,
  );
  assert.throws(
    () =>
      new RateLimiter({ requests: 1, windowSeconds: 1 }, clock, { maxKeys: 0 }),
    RangeError,
  );
});

Deno.test("property: retryAfterMs is exact, and no clock-aligned window admits more than `requests`", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.boolean()), {
        maxLength: 200,
      }),
      (requests, windowSeconds, startMs, steps) => {
        const clock = new FakeClock(startMs);
        const limiter = new RateLimiter({ requests, windowSeconds }, clock);
        const windowMs = windowSeconds * 1000;
        const allowedPerWindow = new Map<number, number>();
        const take = () => {
          const decision = limiter.take("client");
          if (decision.allowed) {
            const window = Math.floor(clock.now() / windowMs);
            allowedPerWindow.set(
              window,
              (allowedPerWindow.get(window) ?? 0) + 1,
            );
          }
          return decision;
        };
        for (const [advanceMs, waitOutRefusal] of steps) {
          clock.advance(advanceMs);
          const decision = take();
          if (!decision.allowed && waitOutRefusal) {
            assert.ok(decision.retryAfterMs > 0);
            assert.ok(decision.retryAfterMs <= 2 * windowMs);
            clock.advance(decision.retryAfterMs - 1);
            assert.equal(take().allowed, false, "allowed before retryAfterMs");
            clock.advance(1);
            assert.equal(take().allowed, true, "refused after retryAfterMs");
          }
        }
        for (const count of allowedPerWindow.values()) {
          assert.ok(count <= requests);
        }
      },
    ),
    { numRuns: 300 },
  );
});

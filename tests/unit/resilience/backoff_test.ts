import assert from "node:assert/strict";
import fc from "fast-check";
import { fullJitterBackoff } from "../../../src/resilience/backoff.ts";

const almostOne = 1 - Number.EPSILON;

Deno.test("fullJitterBackoff scales random() by the cap min(maxMs, baseMs * 2^attempt)", () => {
  assert.equal(fullJitterBackoff(0, 50, 2000, () => 0.5), 25);
  assert.equal(fullJitterBackoff(1, 50, 2000, () => 0.5), 50);
  assert.equal(fullJitterBackoff(2, 50, 2000, () => 0.5), 100);
  assert.equal(fullJitterBackoff(5, 50, 2000, () => 0.5), 800);
  assert.equal(fullJitterBackoff(6, 50, 2000, () => 0.5), 1000); // 3200 clamped to 2000
  assert.equal(fullJitterBackoff(3, 50, 2000, () => 0), 0);
});

Deno.test("fullJitterBackoff stays below the cap and clamps at maxMs", () => {
  assert.ok(fullJitterBackoff(0, 50, 2000, () => almostOne) < 50);
  assert.ok(fullJitterBackoff(10, 50, 2000, () => almostOne) < 2000);
  assert.ok(fullJitterBackoff(10, 50, 2000, () => almostOne) > 1999);
});

Deno.test("fullJitterBackoff handles huge attempts without Infinity or NaN", () => {
  for (const attempt of [64, 1023, 1024, 5000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(fullJitterBackoff(attempt, 50, 2000, () => 0.5), 1000);
    assert.equal(fullJitterBackoff(attempt, 0, 2000, () => 0.5), 0);
  }
});

Deno.test("fullJitterBackoff rejects invalid arguments", () => {
  assert.throws(() => fullJitterBackoff(-1, 50, 2000), RangeError);
  assert.throws(() => fullJitterBackoff(1.5, 50, 2000), RangeError);
  assert.throws(() => fullJitterBackoff(0, -1, 2000), RangeError);
  assert.throws(() => fullJitterBackoff(0, 50, NaN), RangeError);
});

Deno.test("fullJitterBackoff property: 0 <= delay < cap, cap non-decreasing in attempt", () => {
  fc.assert(
    fc.property(
      fc.nat(2000),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.double({ min: 0, max: almostOne, noNaN: true }),
      (attempt, baseMs, maxMs, r) => {
        const cap = Math.min(maxMs, baseMs * 2 ** attempt);
        const delay = fullJitterBackoff(attempt, baseMs, maxMs, () => r);
        assert.ok(delay >= 0 && delay < cap, `${delay} not in [0, ${cap})`);
        const atMostOne = fullJitterBackoff(attempt, baseMs, maxMs, () => 1);
        const next = fullJitterBackoff(attempt + 1, baseMs, maxMs, () => 1);
        assert.ok(next >= atMostOne);
        assert.ok(next <= maxMs);
      },
    ),
  );
});

Deno.test("fullJitterBackoff uses Math.random by default", () => {
  const delays = Array.from(
    { length: 50 },
    () => fullJitterBackoff(4, 50, 2000),
  );
  assert.ok(delays.every((d) => d >= 0 && d < 800));
  assert.ok(new Set(delays).size > 1);
});

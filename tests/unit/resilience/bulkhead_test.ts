import assert from "node:assert/strict";
import { Bulkhead } from "../../../src/resilience/bulkhead.ts";

Deno.test("Bulkhead grants up to maxConcurrent permits, then refuses at once", () => {
  const bulkhead = new Bulkhead(2);
  const first = bulkhead.tryAcquire();
  const second = bulkhead.tryAcquire();
  assert.ok(first && second);
  assert.equal(bulkhead.inFlight, 2);
  assert.equal(bulkhead.tryAcquire(), undefined);
  assert.equal(bulkhead.inFlight, 2);
  first.release();
  assert.equal(bulkhead.inFlight, 1);
  const third = bulkhead.tryAcquire();
  assert.ok(third);
  assert.equal(bulkhead.tryAcquire(), undefined);
});

Deno.test("Bulkhead permit release is idempotent", () => {
  const bulkhead = new Bulkhead(2);
  const first = bulkhead.tryAcquire()!;
  const second = bulkhead.tryAcquire()!;
  first.release();
  first.release();
  first.release();
  assert.equal(bulkhead.inFlight, 1);
  // A double release must not free the slot still held by `second`.
  assert.ok(bulkhead.tryAcquire());
  assert.equal(bulkhead.tryAcquire(), undefined);
  second.release();
  assert.equal(bulkhead.inFlight, 1);
});

Deno.test("Bulkhead with null is unlimited but still counts", () => {
  const bulkhead = new Bulkhead(null);
  const permits = Array.from({ length: 10_000 }, () => bulkhead.tryAcquire());
  assert.ok(permits.every((permit) => permit !== undefined));
  assert.equal(bulkhead.inFlight, 10_000);
  for (const permit of permits) permit!.release();
  assert.equal(bulkhead.inFlight, 0);
});

Deno.test("Bulkhead with 0 refuses everything", () => {
  assert.equal(new Bulkhead(0).tryAcquire(), undefined);
});

Deno.test("Bulkhead rejects invalid limits", () => {
  assert.throws(() => new Bulkhead(-1), RangeError);
  assert.throws(() => new Bulkhead(1.5), RangeError);
  assert.throws(() => new Bulkhead(NaN), RangeError);
});

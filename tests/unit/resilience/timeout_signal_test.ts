import assert from "node:assert/strict";
import { timeoutSignal } from "../../../src/resilience/timeout_signal.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

Deno.test("timeoutSignal aborts with reason() after ms", () => {
  const clock = new FakeClock(0);
  const reason = new Error("headers timeout");
  let reasonCalls = 0;
  const timeout = timeoutSignal(clock, 500, () => {
    reasonCalls++;
    return reason;
  });
  let abortedAt: number | undefined;
  timeout.signal.addEventListener("abort", () => abortedAt = clock.now());
  clock.advance(499);
  assert.equal(timeout.signal.aborted, false);
  assert.equal(reasonCalls, 0); // built only when it fires
  clock.advance(1);
  assert.equal(timeout.signal.aborted, true);
  assert.equal(timeout.signal.reason, reason);
  assert.equal(abortedAt, 500);
  assert.equal(reasonCalls, 1);
  timeout.clear(); // after firing: harmless
  assert.equal(timeout.signal.reason, reason);
});

Deno.test("timeoutSignal clear cancels the timer and is idempotent", () => {
  const clock = new FakeClock(0);
  const timeout = timeoutSignal(clock, 500, () => new Error("never"));
  assert.equal(clock.pending(), 1);
  clock.advance(200);
  timeout.clear();
  timeout.clear();
  assert.equal(clock.pending(), 0);
  clock.advance(10_000);
  assert.equal(timeout.signal.aborted, false);
});

Deno.test("timeoutSignal with Infinity sets no timer and never aborts", () => {
  const clock = new FakeClock(0);
  const timeout = timeoutSignal(clock, Infinity, () => new Error("never"));
  assert.equal(clock.pending(), 0);
  clock.advance(Number.MAX_SAFE_INTEGER);
  assert.equal(timeout.signal.aborted, false);
  timeout.clear();
});

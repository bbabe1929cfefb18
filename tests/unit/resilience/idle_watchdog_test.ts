import assert from "node:assert/strict";
import { idleWatchdog } from "../../../src/resilience/idle_watchdog.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

/** A FakeClock that also counts how many timers were ever scheduled. */
function countingClock(
  startMs = 0,
): { clock: FakeClock; scheduled: () => number } {
  const clock = new FakeClock(startMs);
  let scheduled = 0;
  const schedule = clock.setTimeout.bind(clock);
  clock.setTimeout = (fn, ms) => {
    scheduled++;
    return schedule(fn, ms);
  };
  return { clock, scheduled: () => scheduled };
}

Deno.test("idleWatchdog fires once after idleMs with no touch", () => {
  const clock = new FakeClock(0);
  const firedAt: number[] = [];
  idleWatchdog(clock, 1000, () => firedAt.push(clock.now()));
  clock.advance(999);
  assert.deepEqual(firedAt, []);
  clock.advance(1);
  assert.deepEqual(firedAt, [1000]);
  clock.advance(10_000);
  assert.deepEqual(firedAt, [1000]);
  assert.equal(clock.pending(), 0);
});

Deno.test("idleWatchdog fires only after true idleness, counted from the last touch", () => {
  const clock = new FakeClock(0);
  const firedAt: number[] = [];
  const watchdog = idleWatchdog(clock, 1000, () => firedAt.push(clock.now()));
  clock.advance(300);
  watchdog.touch();
  clock.advance(600);
  watchdog.touch(); // last activity at 900
  clock.advance(999); // 1899: the timer re-armed at 1000 and 1300, quiet for 999 ms
  assert.deepEqual(firedAt, []);
  clock.advance(1);
  assert.deepEqual(firedAt, [1900]);
});

Deno.test("idleWatchdog touch schedules no timer; the one timer re-arms for the remainder", () => {
  const { clock, scheduled } = countingClock();
  let fired = 0;
  const watchdog = idleWatchdog(clock, 1000, () => fired++);
  assert.equal(scheduled(), 1);
  // A busy stream: a chunk every 10 ms for 5 seconds.
  for (let chunk = 0; chunk < 500; chunk++) {
    clock.advance(10);
    watchdog.touch();
  }
  assert.equal(fired, 0);
  // Only one timer per idle period elapsed, never one per touch.
  assert.ok(scheduled() <= 6, `scheduled ${scheduled()} timers`);
  assert.equal(clock.pending(), 1);
  clock.advance(1000);
  assert.equal(fired, 1);
  assert.equal(clock.pending(), 0);
});

Deno.test("idleWatchdog stop cancels for good and is idempotent", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const watchdog = idleWatchdog(clock, 1000, () => fired++);
  clock.advance(500);
  watchdog.stop();
  watchdog.stop();
  assert.equal(clock.pending(), 0);
  watchdog.touch();
  clock.advance(10_000);
  assert.equal(fired, 0);
  assert.equal(clock.pending(), 0);
});

Deno.test("idleWatchdog stop after a re-arm cancels the re-armed timer", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const watchdog = idleWatchdog(clock, 1000, () => fired++);
  clock.advance(500);
  watchdog.touch();
  clock.advance(700); // re-armed at 1000 for 500 more
  assert.equal(clock.pending(), 1);
  watchdog.stop();
  assert.equal(clock.pending(), 0);
  clock.advance(10_000);
  assert.equal(fired, 0);
});

Deno.test("idleWatchdog with Infinity sets no timer and never fires", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const watchdog = idleWatchdog(clock, Infinity, () => fired++);
  assert.equal(clock.pending(), 0);
  watchdog.touch();
  clock.advance(Number.MAX_SAFE_INTEGER);
  watchdog.stop();
  assert.equal(fired, 0);
});

Deno.test("idleWatchdog: silence while the consumer is not asking does not count", () => {
  const clock = new FakeClock();
  let waiting = false;
  let fired = 0;
  const watchdog = idleWatchdog(clock, 100, () => fired++, () => waiting);
  clock.advance(1000); // a slow client: nothing asked, nothing owed
  assert.equal(fired, 0);
  waiting = true;
  watchdog.touch();
  clock.advance(99);
  assert.equal(fired, 0);
  clock.advance(1);
  assert.equal(fired, 1);
  watchdog.stop();
});

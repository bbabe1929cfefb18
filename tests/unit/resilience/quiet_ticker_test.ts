import assert from "node:assert/strict";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { quietTicker } from "../../../src/resilience/quiet_ticker.ts";

Deno.test("ticks after every interval of silence; a touch starts the silence again", () => {
  const clock = new FakeClock();
  const ticks: number[] = [];
  const start = clock.now();
  const ticker = quietTicker(clock, 100, () => ticks.push(clock.now() - start));
  clock.advance(99);
  assert.deepEqual(ticks, []);
  clock.advance(1);
  assert.deepEqual(ticks, [100]);
  clock.advance(150);
  ticker.touch(); // at 250
  clock.advance(99);
  assert.deepEqual(ticks, [100, 200]);
  clock.advance(1);
  assert.deepEqual(ticks, [100, 200, 350]);
  ticker.stop();
  assert.equal(clock.pending(), 0);
  clock.advance(1000);
  assert.equal(ticks.length, 3);
});

Deno.test("a due tick that may not go out is tried again an interval later, not dropped for good", () => {
  const clock = new FakeClock();
  let allowed = false;
  let ticks = 0;
  const ticker = quietTicker(clock, 100, () => ticks++, () => allowed);
  clock.advance(300);
  assert.equal(ticks, 0);
  allowed = true;
  clock.advance(100);
  assert.equal(ticks, 1);
  ticker.stop();
  assert.equal(clock.pending(), 0);
});

Deno.test("touches cost no timer: one timer re-arms for the remainder", () => {
  const clock = new FakeClock();
  let ticks = 0;
  const ticker = quietTicker(clock, 100, () => ticks++);
  for (let i = 0; i < 50; i++) {
    clock.advance(10);
    ticker.touch();
  }
  assert.equal(ticks, 0);
  assert.equal(clock.pending(), 1);
  ticker.stop();
});

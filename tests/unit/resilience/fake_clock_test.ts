import assert from "node:assert/strict";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

Deno.test("FakeClock starts at the given time and only moves when advanced", () => {
  const clock = new FakeClock(5_000);
  assert.equal(clock.now(), 5_000);
  clock.advance(0);
  assert.equal(clock.now(), 5_000);
  clock.advance(250);
  assert.equal(clock.now(), 5_250);
  assert.equal(new FakeClock().now(), 1_700_000_000_000);
});

Deno.test("FakeClock fires timers in due order, ties in scheduling order, each at its due time", () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  const record = (name: string) => () => fired.push(`${name}@${clock.now()}`);
  clock.setTimeout(record("c"), 30);
  clock.setTimeout(record("a"), 10);
  clock.setTimeout(record("b1"), 20);
  clock.setTimeout(record("b2"), 20);
  clock.setTimeout(record("late"), 100);
  clock.advance(50);
  assert.deepEqual(fired, ["a@10", "b1@20", "b2@20", "c@30"]);
  assert.equal(clock.now(), 50);
  assert.equal(clock.pending(), 1);
  clock.advance(50);
  assert.deepEqual(fired.at(-1), "late@100");
  assert.equal(clock.pending(), 0);
});

Deno.test("FakeClock fires timers scheduled by callbacks within the same advance", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 15); // due at 25
    clock.setTimeout(() => fired.push(clock.now()), 0); // due at 10, after this one
    clock.setTimeout(() => fired.push(clock.now()), 100); // beyond the advance
  }, 10);
  clock.setTimeout(() => fired.push(clock.now()), 20);
  clock.advance(30);
  assert.deepEqual(fired, [10, 10, 20, 25]);
  assert.equal(clock.pending(), 1);
});

Deno.test("FakeClock cancel is idempotent and a cancelled timer never fires", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const cancel = clock.setTimeout(() => fired++, 10);
  clock.setTimeout(() => fired++, 10);
  assert.equal(clock.pending(), 2);
  cancel();
  cancel();
  assert.equal(clock.pending(), 1);
  clock.advance(10);
  assert.equal(fired, 1);
  assert.equal(clock.pending(), 0);
});

Deno.test("FakeClock treats negative delays as zero and refuses to go back", () => {
  const clock = new FakeClock(0);
  let firedAt: number | undefined;
  clock.setTimeout(() => firedAt = clock.now(), -5);
  clock.advance(0);
  assert.equal(firedAt, 0);
  assert.throws(() => clock.advance(-1), RangeError);
});

Deno.test("FakeClock stops a timer that reschedules itself forever", () => {
  const clock = new FakeClock(0);
  const again = () => {
    clock.setTimeout(again, 0);
  };
  clock.setTimeout(again, 0);
  assert.throws(() => clock.advance(1), /reschedules itself/);
});

Deno.test("FakeClock.advanceAsync lets promise chains react between timers", async () => {
  const clock = new FakeClock(0);
  const steps: string[] = [];
  const wait = (ms: number) =>
    new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  // A chain whose second timer only exists after the first promise settles.
  const chain = (async () => {
    await wait(10);
    steps.push(`first@${clock.now()}`);
    await wait(10);
    steps.push(`second@${clock.now()}`);
  })();
  await clock.advanceAsync(25);
  assert.deepEqual(steps, ["first@10", "second@20"]);
  assert.equal(clock.now(), 25);
  await chain;
});

Deno.test("FakeClock.advance alone does not wait for promise reactions", async () => {
  const clock = new FakeClock(0);
  let secondArmed = false;
  const chain = new Promise<void>((resolve) => clock.setTimeout(resolve, 10))
    .then(() => {
      secondArmed = true;
    });
  clock.advance(25);
  assert.equal(secondArmed, false);
  await chain;
  assert.equal(secondArmed, true);
});

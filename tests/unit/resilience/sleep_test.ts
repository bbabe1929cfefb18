import assert from "node:assert/strict";
import { sleep } from "../../../src/resilience/sleep.ts";
import { systemClock } from "../../../src/resilience/clock.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

Deno.test("sleep resolves after exactly ms on the clock", async () => {
  const clock = new FakeClock(0);
  let resolvedAt: number | undefined;
  const slept = sleep(clock, 100).then(() => resolvedAt = clock.now());
  await clock.advanceAsync(99);
  assert.equal(resolvedAt, undefined);
  await clock.advanceAsync(1);
  await slept;
  assert.equal(resolvedAt, 100);
  assert.equal(clock.pending(), 0);
});

/** An abort signal that tracks how many listeners are attached to it. */
function trackedSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const live = new Set<EventListenerOrEventListenerObject>();
  type Listen = Parameters<EventTarget["addEventListener"]>;
  type Unlisten = Parameters<EventTarget["removeEventListener"]>;
  signal.addEventListener = (...args: Listen) => {
    if (args[1]) live.add(args[1]);
    EventTarget.prototype.addEventListener.apply(signal, args);
  };
  signal.removeEventListener = (...args: Unlisten) => {
    if (args[1]) live.delete(args[1]);
    EventTarget.prototype.removeEventListener.apply(signal, args);
  };
  return { controller, signal, listeners: () => live.size };
}

Deno.test("sleep removes its abort listener when it resolves", async () => {
  const clock = new FakeClock(0);
  const { signal, listeners } = trackedSignal();
  const slept = sleep(clock, 10, signal);
  assert.equal(listeners(), 1);
  clock.advance(10);
  await slept;
  assert.equal(listeners(), 0);
  assert.equal(clock.pending(), 0);
});

Deno.test("sleep rejects at once with the reason when already aborted, scheduling nothing", async () => {
  const clock = new FakeClock(0);
  const reason = new Error("client gone");
  const controller = new AbortController();
  controller.abort(reason);
  await assert.rejects(
    sleep(clock, 100, controller.signal),
    (error) => error === reason,
  );
  assert.equal(clock.pending(), 0);
});

Deno.test("sleep rejects with the reason when aborted while waiting, and clears its timer", async () => {
  const clock = new FakeClock(0);
  const reason = new Error("deadline");
  const controller = new AbortController();
  const slept = sleep(clock, 100, controller.signal);
  clock.advance(40);
  assert.equal(clock.pending(), 1);
  controller.abort(reason);
  assert.equal(clock.pending(), 0);
  await assert.rejects(slept, (error) => error === reason);
});

Deno.test("sleep on the system clock leaves nothing behind under the sanitizers", async () => {
  const controller = new AbortController();
  await sleep(systemClock, 1, controller.signal);
  const aborted = sleep(systemClock, 60_000, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
});

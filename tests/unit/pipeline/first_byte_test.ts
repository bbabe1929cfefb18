import assert from "node:assert/strict";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import { awaitFirstByte } from "../../../src/pipeline/first_byte.ts";
import { UpstreamTimeout } from "../../../src/pipeline/abort_reasons.ts";

/** A body whose reads wait until the controller aborts, like a fetch body. */
function stalledResponse(controller: AbortController): Response {
  const body = new ReadableStream<Uint8Array>({
    pull(out) {
      return new Promise((resolve) => {
        controller.signal.addEventListener("abort", () => {
          out.error(controller.signal.reason);
          resolve();
        }, { once: true });
      });
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200 });
}

Deno.test("a body silent for firstByteMs is a timeout, and the attempt is aborted", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const pending = awaitFirstByte(stalledResponse(controller), {
    clock,
    firstByteMs: 500,
    remainingMs: 10_000,
    controller,
  });
  clock.advance(499);
  assert.equal(controller.signal.aborted, false);
  clock.advance(1);
  assert.deepEqual(await pending, { kind: "timeout" });
  assert.ok(controller.signal.reason instanceof UpstreamTimeout);
  assert.equal(controller.signal.reason.kind, "first_byte");
});

Deno.test("when the exchange has less time left, the total deadline ends the wait", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const pending = awaitFirstByte(stalledResponse(controller), {
    clock,
    firstByteMs: 500,
    remainingMs: 200,
    controller,
  });
  clock.advance(200);
  assert.deepEqual(await pending, { kind: "timeout" });
  assert.equal(controller.signal.reason.kind, "total");
});

Deno.test("a body that breaks before its first byte is a network failure", async () => {
  const clock = new FakeClock();
  const body = new ReadableStream({
    pull(out) {
      out.error(new TypeError("connection reset"));
    },
  });
  const result = await awaitFirstByte(new Response(body), {
    clock,
    firstByteMs: 500,
    remainingMs: 10_000,
    controller: new AbortController(),
  });
  assert.deepEqual(result, { kind: "network" });
  assert.equal(clock.pending(), 0);
});

Deno.test("the held chunk comes first, then the rest; an empty body is a bodiless response", async () => {
  const clock = new FakeClock();
  const options = {
    clock,
    firstByteMs: 500,
    remainingMs: 10_000,
    controller: new AbortController(),
  };
  const parts = ["one ", "two ", "three"];
  const body = new ReadableStream<Uint8Array>({
    pull(out) {
      const next = parts.shift();
      if (next === undefined) out.close();
      else out.enqueue(new TextEncoder().encode(next));
    },
  }, { highWaterMark: 0 });
  const held = await awaitFirstByte(
    new Response(body, { status: 201, headers: { "x-a": "1" } }),
    options,
  );
  assert.ok(held instanceof Response);
  assert.equal(held.status, 201);
  assert.equal(held.headers.get("x-a"), "1");
  assert.equal(await held.text(), "one two three");
  assert.equal(clock.pending(), 0);

  const empty = await awaitFirstByte(new Response(""), options);
  assert.ok(empty instanceof Response);
  assert.equal(empty.body, null);
});

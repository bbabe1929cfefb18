import assert from "node:assert/strict";
import { batchedSink } from "../../../src/observe/batched_sink.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

Deno.test("lines wait for the flush timer, then leave in one write, in order", () => {
  const clock = new FakeClock();
  const writes: string[] = [];
  const { sink } = batchedSink((text) => writes.push(text), clock, {
    flushMs: 20,
  });
  sink("a");
  sink("b");
  clock.advance(19);
  assert.deepEqual(writes, []);
  clock.advance(1);
  assert.deepEqual(writes, ["a\nb\n"]);
  sink("c");
  clock.advance(20);
  assert.deepEqual(writes, ["a\nb\n", "c\n"]);
});

Deno.test("a batch that reaches maxBytes is written at once, and its timer cleared", () => {
  const clock = new FakeClock();
  const writes: string[] = [];
  const { sink } = batchedSink((text) => writes.push(text), clock, {
    flushMs: 20,
    maxBytes: 8,
  });
  sink("abc");
  assert.deepEqual(writes, []);
  sink("defg");
  assert.deepEqual(writes, ["abc\ndefg\n"]);
  assert.equal(clock.pending(), 0);
});

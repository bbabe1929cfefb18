import assert from "node:assert/strict";
import { continueTrace } from "../../../src/http/traceparent.ts";

const STARTED = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

Deno.test("started traces are well-formed and distinct across many refills of the random pool", () => {
  // 24 random bytes per started trace: 2,000 traces draw ~48 KB, a dozen
  // refills of the 4 KiB pool, so a pool that is not refreshed (or is
  // decoded wrong) shows up as a repeat or a malformed id.
  const traceIds = new Set<string>();
  const spanIds = new Set<string>();
  let digits = "";
  for (let i = 0; i < 2_000; i++) {
    const trace = continueTrace(null);
    const match = STARTED.exec(trace.traceparent);
    assert.ok(match, trace.traceparent);
    assert.equal(match[1], trace.traceId);
    assert.equal(match[2], trace.spanId);
    traceIds.add(trace.traceId);
    spanIds.add(trace.spanId);
    digits += trace.traceId;
  }
  assert.equal(traceIds.size, 2_000);
  assert.equal(spanIds.size, 2_000);
  // Every hex digit turns up about equally often (64,000 digits: ~4,000 each).
  for (const digit of "0123456789abcdef") {
    const count = digits.split(digit).length - 1;
    assert.ok(count > 3_500 && count < 4_500, `${digit}: ${count}`);
  }
});

Deno.test("a valid incoming trace keeps its id and flags; the parent becomes the gateway's span", () => {
  const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
  const trace = continueTrace(` ${incoming} `);
  assert.equal(trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.match(trace.spanId, /^[0-9a-f]{16}$/);
  assert.equal(
    trace.traceparent,
    `00-4bf92f3577b34da6a3ce929d0e0e4736-${trace.spanId}-00`,
  );
});

Deno.test("an invalid incoming trace starts a new one", () => {
  for (
    const incoming of [
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "garbage",
    ]
  ) {
    const trace = continueTrace(incoming);
    assert.match(trace.traceparent, STARTED, incoming);
    assert.notEqual(trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  }
});

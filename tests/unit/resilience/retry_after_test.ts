import assert from "node:assert/strict";
import { parseRetryAfter } from "../../../src/resilience/retry_after.ts";

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0); // 37 s before the RFC's example date
const parse = (init: Record<string, string>, nowMs = NOW) =>
  parseRetryAfter(new Headers(init), nowMs);

Deno.test("parseRetryAfter reads delta-seconds", () => {
  assert.equal(parse({ "retry-after": "0" }), 0);
  assert.equal(parse({ "retry-after": "3" }), 3000);
  assert.equal(parse({ "retry-after": "120" }), 120_000);
  assert.equal(parse({ "retry-after": "  7 " }), 7000); // Headers trims whitespace
  // Digits are seconds, never handed to Date.parse (which reads "1" as 2001).
  assert.equal(parse({ "retry-after": "1" }), 1000);
});

Deno.test("parseRetryAfter reads all three HTTP-date forms relative to now", () => {
  assert.equal(
    parse({ "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" }),
    37_000,
  );
  assert.equal(
    parse({ "retry-after": "Sunday, 06-Nov-94 08:49:37 GMT" }),
    37_000,
  );
  assert.equal(parse({ "retry-after": "Sun Nov  6 08:49:37 1994" }), 37_000);
  assert.equal(
    parse({ "retry-after": "Sun Nov 16 08:49:37 1994" }),
    37_000 + 10 * 86_400_000,
  );
});

Deno.test("parseRetryAfter gives 0 for a date in the past", () => {
  assert.equal(
    parse({ "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" }, NOW + 60_000),
    0,
  );
});

Deno.test("parseRetryAfter prefers a readable retry-after-ms", () => {
  assert.equal(parse({ "retry-after-ms": "250", "retry-after": "9" }), 250);
  assert.equal(parse({ "retry-after-ms": "12.5" }), 12.5);
  assert.equal(parse({ "retry-after-ms": "0" }), 0);
  // An unreadable retry-after-ms falls back to retry-after.
  assert.equal(parse({ "retry-after-ms": "-5", "retry-after": "2" }), 2000);
  assert.equal(parse({ "retry-after-ms": "soon", "retry-after": "2" }), 2000);
  assert.equal(parse({ "retry-after-ms": "soon" }), undefined);
});

Deno.test("parseRetryAfter returns undefined when absent or garbage", () => {
  assert.equal(parse({}), undefined);
  for (
    const garbage of [
      "",
      "-1",
      "1.5",
      "1e3",
      "0x10",
      "5 seconds",
      "soon",
      "2024-01-01T00:00:00Z", // ISO is not an HTTP-date
      "Sun, 06 Nov 1994 08:49:37", // no zone
      "Sun, 06 Nov 1994 08:49:37 PST",
      "sun, 06 nov 1994 08:49:37 gmt",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 GMT, 3",
      "3, 4",
    ]
  ) {
    assert.equal(
      parse({ "retry-after": garbage }),
      undefined,
      `for ${JSON.stringify(garbage)}`,
    );
  }
});

Deno.test("parseRetryAfter saturates absurdly large values", () => {
  assert.equal(
    parse({ "retry-after": "9".repeat(400) }),
    Number.MAX_SAFE_INTEGER,
  );
  assert.equal(
    parse({ "retry-after-ms": "9".repeat(400) }),
    Number.MAX_SAFE_INTEGER,
  );
});

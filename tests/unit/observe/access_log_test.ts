import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AccessLogOptions,
  createAccessLog,
} from "../../../src/observe/access_log.ts";
import { accessEntry } from "../../_fixtures/access_entry.ts";

const entry = accessEntry;

/** An access log whose lines land in `lines`, stamped at the epoch. */
function collectingLog(options: Omit<AccessLogOptions, "sink" | "now">) {
  const lines: string[] = [];
  const write = createAccessLog({
    now: () => 0,
    ...options,
    sink: (line) => lines.push(line),
  });
  return { lines, write };
}

/** The line for `entry` at the epoch, as `JSON.stringify` writes it. */
function stringified(line: ReturnType<typeof entry>): string {
  return JSON.stringify({
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "access",
    ...line,
    flags: line.flags.length === 0 ? "-" : line.flags.join(","),
  });
}

/** A sequence of "random" numbers, cycling; bounded by construction. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

Deno.test("writes one JSON line with the entry, flags joined or '-'", () => {
  const { lines, write } = collectingLog({
    sampleRate: 1,
  });
  write(entry());
  write(entry({ status: 504, flags: ["UT", "RT"], attempts: 3, ttfbMs: null }));
  const [plain, flagged] = lines.map((line) => JSON.parse(line));
  assert.deepEqual(plain, {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "access",
    ...entry(),
    flags: "-",
  });
  assert.equal(flagged.flags, "UT,RT");
  assert.equal(flagged.attempts, 3);
  assert.equal(flagged.ttfbMs, null);
});

Deno.test("sampling thins out ordinary lines by sampleRate", () => {
  const { lines, write } = collectingLog({
    sampleRate: 0.25,
    random: sequence([0.1, 0.3, 0.6, 0.9]),
  });
  for (let i = 0; i < 100; i++) write(entry({ requestId: `r${i}` }));
  assert.equal(lines.length, 25);
  assert.equal(JSON.parse(lines[1]).requestId, "r4");
});

Deno.test("errors and flagged lines are never sampled out", () => {
  const { lines, write } = collectingLog({
    sampleRate: 0,
    random: () => 0.999,
  });
  write(entry({ status: 200 }));
  write(entry({ status: 404 }));
  write(entry({ status: 500 }));
  write(entry({ status: 503, flags: ["BO"] }));
  write(entry({ status: 200, flags: ["RT"] }));
  write(entry({ status: 404, route: null, upstream: null, flags: ["NR"] }));
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)).map((r) => `${r.status} ${r.flags}`),
    ["500 -", "503 BO", "200 RT", "404 NR"],
  );
});

Deno.test("sampleRate 1 writes everything without asking for randomness", () => {
  const { lines, write } = collectingLog({
    sampleRate: 1,
    random: () => {
      throw new Error("random must not be called");
    },
  });
  write(entry());
  assert.equal(lines.length, 1);
});

Deno.test("a sampleRate outside 0..1 is refused up front", () => {
  for (const sampleRate of [-0.1, 1.5, NaN]) {
    assert.throws(
      () => createAccessLog({ sampleRate }),
      /sampleRate must be between 0 and 1/,
    );
  }
});

Deno.test("the line is the entry as JSON.stringify writes it, escapes and WebSocket fields included", () => {
  const { lines, write } = collectingLog({
    sampleRate: 1,
  });
  const odd = entry({
    path: '/a"b\\c\n\u2028ü',
    route: null,
    upstream: null,
    clientAddress: null,
    traceId: null,
    durationMs: NaN,
    flags: ["CD"],
    websocket: {
      messagesIn: 2,
      messagesOut: 3,
      closeCode: 1000,
      closedBy: "client",
      cause: 'said "bye"',
    },
  });
  write(odd);
  assert.equal(lines[0], stringified(odd));
});

Deno.test("any path or id is written exactly as JSON.stringify writes it (lone surrogates and controls too)", () => {
  const { lines, write } = collectingLog({ sampleRate: 1 });
  fc.assert(
    fc.property(
      // Any UTF-16 code units: lone surrogates and controls included.
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24 })
        .map((units) => String.fromCharCode(...units)),
      fc.string({ unit: "grapheme-composite", maxLength: 12 }),
      (path, requestId) => {
        lines.length = 0;
        const odd = entry({ path, requestId });
        write(odd);
        assert.equal(lines[0], stringified(odd));
      },
    ),
    { numRuns: 500 },
  );
});

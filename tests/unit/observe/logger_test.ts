import assert from "node:assert/strict";
import { createLogger, type LogLevel } from "../../../src/observe/logger.ts";

function capture(level: LogLevel) {
  const lines: string[] = [];
  const log = createLogger({
    level,
    sink: (line) => lines.push(line),
    now: () => 86_400_000,
  });
  return { log, lines, records: () => lines.map((line) => JSON.parse(line)) };
}

Deno.test("each line is one JSON object with time, level, msg and the fields", () => {
  const { log, lines, records } = capture("debug");
  log.info("started", { port: 8000, routes: ["a"] });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\n"));
  assert.deepEqual(records(), [{
    time: "1970-01-02T00:00:00.000Z",
    level: "info",
    msg: "started",
    port: 8000,
    routes: ["a"],
  }]);
  assert.ok(lines[0].startsWith('{"time":'), "time comes first");
});

Deno.test("levels below the threshold are dropped", () => {
  for (
    const [level, expected] of [
      ["debug", ["debug", "info", "warn", "error"]],
      ["info", ["info", "warn", "error"]],
      ["warn", ["warn", "error"]],
      ["error", ["error"]],
    ] as const
  ) {
    const { log, records } = capture(level);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    assert.deepEqual(records().map((r) => r.level), expected, `level ${level}`);
  }
});

Deno.test("errors are reduced to name and message, nested ones too, without stacks", () => {
  const { log, lines, records } = capture("info");
  const cause = new RangeError("deep");
  log.error("store failed", { err: new TypeError("boom"), context: { cause } });
  assert.deepEqual(records()[0].err, { name: "TypeError", message: "boom" });
  assert.deepEqual(records()[0].context, {
    cause: { name: "RangeError", message: "deep" },
  });
  assert.ok(!lines[0].includes("stack"));
  assert.ok(!lines[0].includes("logger_test"));
});

Deno.test("fields cannot overwrite time, level or msg", () => {
  const { log, records } = capture("info");
  log.info("real", { msg: "fake", level: "error", time: "never", extra: 1 });
  const [record] = records();
  assert.equal(record.msg, "real");
  assert.equal(record.level, "info");
  assert.equal(record.time, "1970-01-02T00:00:00.000Z");
  assert.equal(record.extra, 1);
});

Deno.test("unserialisable fields never throw and never lose the event", () => {
  const { log, records } = capture("info");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  log.warn("cycle", { cyclic, big: 1n });
  log.info("bigint", { big: 2n });
  const [cycle, big] = records();
  assert.equal(cycle.msg, "cycle");
  assert.equal(cycle.level, "warn");
  assert.match(cycle.logError, /not serialisable/);
  assert.equal(big.big, "2");
});

Deno.test("an unknown level is refused up front", () => {
  assert.throws(
    () => createLogger({ level: "verbose" as LogLevel }),
    /Cannot create logger as level is not one of debug, info, warn, error: current value is verbose/,
  );
});

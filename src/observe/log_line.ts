/** Where finished log lines go: one JSON object per call, no trailing newline. */
export type LogSink = (line: string) => void;

/** The default sink. A runtime adapter may pass a batching one instead. */
export const consoleSink: LogSink = (line) => console.log(line);

/**
 * Keeps log lines safe to publish and always serialisable: errors become
 * `{name, message}` (stacks can hold paths and secrets, and are noisy),
 * bigints become strings.
 */
function logValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * Serialises one log record to a JSON line. Never throws: a record that
 * cannot be serialised (a cycle, a throwing getter) is written as its
 * `time`, `level` and `msg` with a note, so the event is not lost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toLogLine } from "./log_line.ts";
 * assert.equal(
 *   toLogLine({ msg: "x", err: new TypeError("bad") }),
 *   '{"msg":"x","err":{"name":"TypeError","message":"bad"}}',
 * );
 * ```
 */
export function toLogLine(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, logValue);
  } catch (error) {
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.msg,
      logError: `fields not serialisable: ${(error as Error).message}`,
    });
  }
}

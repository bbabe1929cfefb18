import { consoleSink, type LogSink, toLogLine } from "./log_line.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Writes one structured event: `msg` says what happened, `fields` the details. */
export type LogMethod = (msg: string, fields?: Record<string, unknown>) => void;

/** A structured logger writing JSON lines. */
export interface Logger {
  /** Detail for debugging. */
  debug: LogMethod;
  /** Normal operation. */
  info: LogMethod;
  /** Something went wrong and the gateway went on. */
  warn: LogMethod;
  /** Something failed. */
  error: LogMethod;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** The least severe level written; anything below is dropped. */
  level: LogLevel;
  /** Where lines go; default `console.log`. */
  sink?: LogSink;
  /** Milliseconds since the epoch for the `time` field; default `Date.now`. */
  now?: () => number;
}

const SEVERITY: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

const dropped: LogMethod = () => {};

/**
 * Creates a logger writing one JSON object per line:
 * `{"time": ISO 8601, "level", "msg", ...fields}`. Errors in fields are
 * reduced to `{name, message}`; `time`, `level` and `msg` cannot be
 * overwritten by fields. Levels below `level` are no-op functions, so a
 * filtered-out call costs only the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger({ level: "info", sink: (l) => lines.push(l), now: () => 0 });
 * log.debug("ignored");
 * log.warn("store unreachable", { operation: "get" });
 * assert.deepEqual(lines, ['{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"store unreachable","operation":"get"}']);
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  if (!(options.level in SEVERITY)) {
    throw new RangeError(
      `Cannot create logger as level is not one of ${
        LEVELS.join(", ")
      }: current value is ${String(options.level)}`,
    );
  }
  const sink = options.sink ?? consoleSink;
  const now = options.now ?? Date.now;
  const threshold = SEVERITY[options.level];

  const methodFor = (level: LogLevel): LogMethod => {
    if (SEVERITY[level] < threshold) return dropped;
    return function writeLogLine(msg, fields) {
      const record: Record<string, unknown> = {
        time: new Date(now()).toISOString(),
        level,
        msg,
      };
      if (fields !== undefined) {
        for (const key in fields) {
          if (!(key in record)) record[key] = fields[key];
        }
      }
      sink(toLogLine(record));
    };
  };

  return {
    debug: methodFor("debug"),
    info: methodFor("info"),
    warn: methodFor("warn"),
    error: methodFor("error"),
  };
}

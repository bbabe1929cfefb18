import type { LogSink } from "./log_line.ts";
import type { Clock } from "../resilience/clock.ts";

export interface BatchedSink {
  sink: LogSink;
  /** Writes what is pending now (call before exit). */
  flush(): void;
}

/**
 * Collects log lines and writes them in one call every `flushMs` or once
 * `maxBytes` are pending, instead of a synchronous write per line: the
 * access log costs one system call per batch, not per request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchedSink } from "./batched_sink.ts";
 * import { systemClock } from "../resilience/clock.ts";
 * const chunks: string[] = [];
 * const { sink, flush } = batchedSink((text) => chunks.push(text), systemClock);
 * sink('{"msg":"a"}');
 * sink('{"msg":"b"}');
 * flush();
 * assert.deepEqual(chunks, ['{"msg":"a"}\n{"msg":"b"}\n']);
 * ```
 */
export function batchedSink(
  write: (text: string) => void,
  clock: Clock,
  options: { flushMs?: number; maxBytes?: number } = {},
): BatchedSink {
  const flushMs = options.flushMs ?? 20;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  // Lines are joined once per batch: appending each to one string builds a
  // tree of pieces that has to be flattened again before it is encoded.
  let pending: string[] = [];
  let pendingLength = 0;
  let cancelTimer: (() => void) | null = null;
  const flush = () => {
    cancelTimer?.();
    cancelTimer = null;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    pendingLength = 0;
    lines.push("");
    write(lines.join("\n"));
  };
  return {
    sink(line) {
      pending.push(line);
      pendingLength += line.length + 1;
      if (pendingLength >= maxBytes) flush();
      else cancelTimer ??= clock.setTimeout(flush, flushMs);
    },
    flush,
  };
}

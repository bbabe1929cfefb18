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
  let pending = "";
  let cancelTimer: (() => void) | null = null;
  const flush = () => {
    cancelTimer?.();
    cancelTimer = null;
    if (pending === "") return;
    const text = pending;
    pending = "";
    write(text);
  };
  return {
    sink(line) {
      pending += line + "\n";
      if (pending.length >= maxBytes) flush();
      else cancelTimer ??= clock.setTimeout(flush, flushMs);
    },
    flush,
  };
}

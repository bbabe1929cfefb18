/**
 * A runtime's own body pipe: a body handed back as it came from `fetch` is
 * sent without JavaScript per chunk. Deno's is the only one so far (see
 * `src/runtime/deno/native_pipe.ts`).
 */
export interface NativePipe {
  /**
   * Prepares `body` for the runtime's pipe and returns what ends it: before
   * the body was sent, a cut (the client's response ends abnormally);
   * after, it frees what the pipe held. Idempotent. `null` when this body
   * cannot go that way (a stream made in JavaScript, say).
   */
  take(body: ReadableStream<Uint8Array>): (() => void) | null;
}

/** Longest a timer may wait (setTimeout's limit): a longer deadline is none. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * How long a natively piped body of `length` bytes may take: `idleMs`, plus
 * the length at `minBytesPerSecond` (rounded up to a whole second). The
 * pipe shows no gaps to time, so this deadline stands in for the per-gap
 * idle timeout: a body that stalls is still ended, later by at most the
 * length's share.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeBodyDeadlineMs } from "./native_pipe.ts";
 *
 * // 1 MiB at 16 KiB/s is 64 s, after the 30 s any body may stay silent.
 * assert.equal(nativeBodyDeadlineMs(30_000, 1_048_576, 16_384), 94_000);
 * // 1 KiB takes a second of its own.
 * assert.equal(nativeBodyDeadlineMs(30_000, 1024, 16_384), 31_000);
 * ```
 */
export function nativeBodyDeadlineMs(
  idleMs: number,
  length: number,
  minBytesPerSecond: number,
): number {
  // Whole seconds for the length's share, so bodies of similar size share a
  // deadline queue (and its one platform timer) on Deno's clock.
  const ms = idleMs + Math.ceil(length / minBytesPerSecond) * 1000;
  return Math.min(ms, MAX_TIMER_MS);
}

import type { Clock } from "../resilience/clock.ts";
import { isTimeout, UpstreamTimeout } from "./abort_reasons.ts";
import type { Failure } from "./attempt.ts";

/** What {@linkcode awaitFirstByte} needs besides the response. */
export interface FirstByteOptions {
  clock: Clock;
  /** The route's `timeouts.firstByteMs`. */
  firstByteMs: number;
  /** Time left of the exchange's `totalMs`: when shorter, it is what ends the wait. */
  remainingMs: number;
  /** The attempt's controller: aborting it ends the upstream request. */
  controller: AbortController;
}

/**
 * Holds a response whose headers arrived until its first body chunk (or the
 * end of an empty body), so that an upstream that answers `200` and then
 * stalls or drops the connection is a failed attempt (retried, failed over,
 * counted by the breaker) rather than a committed response that hangs.
 * Resolves to a response that replays the chunk in hand first (passed on the
 * moment it arrived, no added lag), or to the failure: `timeout` after
 * `firstByteMs` (the attempt's controller is aborted), `network` when the
 * body broke.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemClock } from "../resilience/clock.ts";
 * import { awaitFirstByte } from "./first_byte.ts";
 *
 * const held = await awaitFirstByte(new Response("token 1"), {
 *   clock: systemClock,
 *   firstByteMs: 1000,
 *   remainingMs: 5000,
 *   controller: new AbortController(),
 * });
 * assert.ok(held instanceof Response);
 * assert.equal(await held.text(), "token 1");
 * ```
 */
export async function awaitFirstByte(
  response: Response,
  options: FirstByteOptions,
): Promise<Response | Failure> {
  if (response.body === null) return response;
  const { controller, firstByteMs, remainingMs } = options;
  const reader = response.body.getReader();
  const { signal } = controller;
  const cancelTimer = options.clock.setTimeout(
    () =>
      controller.abort(
        new UpstreamTimeout(remainingMs < firstByteMs ? "total" : "first_byte"),
      ),
    Math.min(firstByteMs, remainingMs),
  );
  // Not every body errors when its request is aborted (a body made in
  // JavaScript, say): the abort itself also ends the wait.
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    do first = await Promise.race([reader.read(), aborted]); while (
      !first.done && first.value.byteLength === 0
    );
  } catch (error) {
    reader.cancel(error).catch(() => {});
    const reason = signal.aborted ? signal.reason : error;
    return { kind: isTimeout(reason) ? "timeout" : "network" };
  } finally {
    cancelTimer();
    signal.removeEventListener("abort", onAbort);
  }
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  if (first.done) return new Response(null, init);
  let held: Uint8Array | null = first.value;
  const body = new ReadableStream<Uint8Array>({
    async pull(out) {
      if (held !== null) {
        out.enqueue(held);
        held = null;
        return;
      }
      const next = await reader.read();
      if (next.done) out.close();
      else out.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, init);
}

import { SseBoundary } from "../http/sse_boundary.ts";
import type { Clock } from "../resilience/clock.ts";
import { quietTicker } from "../resilience/quiet_ticker.ts";

/** The SSE comment sent into a quiet event stream: `:` and a blank line. */
export const HEARTBEAT: Uint8Array = new TextEncoder().encode(":\n\n");

/** Handle of {@linkcode sseHeartbeat}. */
export interface SseHeartbeat {
  /** Notes a chunk passed on to the client. */
  relayed(chunk: Uint8Array): void;
  stop(): void;
}

/**
 * Keeps a quiet `text/event-stream` response alive for proxies in front
 * that cut idle connections: after `heartbeatMs` without an upstream chunk,
 * and again after each further `heartbeatMs`, `send(HEARTBEAT)` runs, but
 * only while the client waits for data and the bytes relayed so far end at
 * an event boundary (never inside a half-relayed event). Upstream silence is
 * still silence for the idle timeout: heartbeats do not touch it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakeClock } from "../../tests/_fixtures/fake_clock.ts";
 * import { HEARTBEAT, sseHeartbeat } from "./sse_heartbeat.ts";
 *
 * const clock = new FakeClock();
 * const sent: Uint8Array[] = [];
 * const heartbeat = sseHeartbeat(clock, 1000, {
 *   isWaiting: () => true,
 *   send: (bytes) => sent.push(bytes),
 * });
 * heartbeat.relayed(new TextEncoder().encode("data: partial"));
 * clock.advance(3000);
 * assert.equal(sent.length, 0); // inside an event: no comment
 * heartbeat.relayed(new TextEncoder().encode("\n\n"));
 * clock.advance(1000);
 * assert.deepEqual(sent, [HEARTBEAT]);
 * heartbeat.stop();
 * ```
 */
export function sseHeartbeat(
  clock: Clock,
  heartbeatMs: number,
  client: {
    /** Whether the client is waiting for the next bytes. */
    isWaiting(): boolean;
    send(bytes: Uint8Array): void;
  },
): SseHeartbeat {
  const boundary = new SseBoundary();
  const ticker = quietTicker(
    clock,
    heartbeatMs,
    () => client.send(HEARTBEAT),
    () => client.isWaiting() && boundary.atBoundary,
  );
  return {
    relayed(chunk) {
      ticker.touch();
      boundary.relayed(chunk);
    },
    stop: ticker.stop,
  };
}

/** Whether a response is an event stream (`text/event-stream`). */
export function isEventStream(contentType: string | null): boolean {
  return contentType !== null &&
    contentType.trimStart().toLowerCase().startsWith("text/event-stream");
}

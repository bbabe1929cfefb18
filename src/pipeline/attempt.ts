import type { HeaderRecord } from "../http/header_record.ts";
import type { Clock } from "../resilience/clock.ts";
import { isTimeout, UpstreamTimeout } from "./abort_reasons.ts";
import { awaitFirstByte } from "./first_byte.ts";

/** A failed attempt that produced no response. */
export type Failure = { kind: "network" } | { kind: "timeout" };

/** What one attempt produced: a response, or a failure without one. */
export type AttemptOutcome =
  | { response: Response; durationMs: number }
  | { failure: Failure; durationMs: number };

/** One upstream request, as `attemptOnce` sends it. */
export interface AttemptOptions {
  url: string;
  method: string;
  headers: HeaderRecord;
  body: BodyInit | null;
  /** Aborted by the headers timeout here, and by the exchange (client gone, total deadline). */
  controller: AbortController;
  headersMs: number;
  /** Time left of the exchange's `totalMs`: when shorter, it is what ends the wait. */
  remainingMs: number;
  /** The route's `timeouts.firstByteMs` (`null`: committed at the headers). */
  firstByteMs: number | null;
  clock: Clock;
  fetch: typeof fetch;
}

/**
 * One upstream request, bounded by the headers timeout (cleared once headers
 * arrive) and, with `firstByteMs`, held until its first body byte.
 */
export async function attemptOnce(
  options: AttemptOptions,
): Promise<AttemptOutcome> {
  const { clock, controller, headersMs, remainingMs } = options;
  const started = clock.now();
  const cancelHeaders = clock.setTimeout(
    () =>
      controller.abort(
        new UpstreamTimeout(remainingMs < headersMs ? "total" : "headers"),
      ),
    Math.min(headersMs, remainingMs),
  );
  const { signal } = controller;
  try {
    const response = await options.fetch(options.url, {
      method: options.method,
      headers: options.headers,
      body: options.body,
      signal,
      redirect: "manual",
      // @ts-ignore: `duplex` is required for streamed bodies, not yet in lib.dom.
      duplex: "half",
    });
    cancelHeaders();
    if (isUnsolicitedSwitch(response)) {
      await response.body?.cancel().catch(() => {});
      return {
        failure: { kind: "network" },
        durationMs: clock.now() - started,
      };
    }
    if (options.firstByteMs === null) {
      return { response, durationMs: clock.now() - started };
    }
    const held = await awaitFirstByte(response, {
      clock,
      firstByteMs: options.firstByteMs,
      remainingMs: remainingMs - (clock.now() - started),
      controller,
    });
    const durationMs = clock.now() - started;
    return held instanceof Response
      ? { response: held, durationMs }
      : { failure: held, durationMs };
  } catch (error) {
    const reason = signal.aborted ? signal.reason : error;
    return {
      failure: { kind: isTimeout(reason) ? "timeout" : "network" },
      durationMs: clock.now() - started,
    };
  } finally {
    cancelHeaders();
  }
}

/**
 * `101 Switching Protocols` on a plain route: the gateway never forwards
 * `Upgrade` there, so the upstream switched without being asked (RFC 9110
 * §15.2.2) and its answer cannot be relayed (a 101 without the switch leaves
 * the client hanging). It counts as a failed attempt: no response, a breaker
 * failure, 502 `upstream_unavailable` once no retry is left. A route that
 * forwards upgrades (WebSocket) must not apply this.
 */
function isUnsolicitedSwitch(response: Response): boolean {
  return response.status === 101;
}

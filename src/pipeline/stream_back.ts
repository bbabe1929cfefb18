import { forwardableResponseHeaders } from "../http/hop_by_hop.ts";
import type { Clock } from "../resilience/clock.ts";
import { idleWatchdog } from "../resilience/idle_watchdog.ts";
import { ClientGone, isTimeout, UpstreamTimeout } from "./abort_reasons.ts";
import type { Exchange } from "./exchange.ts";

/** What streaming a response back needs from the forwarding stage. */
export interface StreamBackOptions {
  clock: Clock;
  idleMs: number;
  /** Aborts the upstream request (and so its body) with a reason. */
  abort(reason: unknown): void;
  /**
   * The upstream request's signal, which every end of the exchange aborts
   * (the client leaving, the total deadline, the idle watchdog); its
   * `reason` says why.
   */
  signal: AbortSignal;
  /** Runs once when the body ended, failed or was cancelled: releases permits and timers. */
  done(): void;
  /** Extra response headers (attempt count, Server-Timing). */
  headers: [string, string][];
  /** Maps a `Location` pointing into the upstream to the gateway's address. */
  rewriteLocation?: (location: string) => string;
}

/**
 * Small bodies of known length are handed to the runtime as they are, so it
 * pipes them without running JavaScript per chunk; for them the idle
 * timeout bounds the whole body (see the README).
 */
const NATIVE_BODY_MAX_BYTES = 64 * 1024;

/**
 * Streams an upstream response to the client chunk by chunk: each chunk is
 * passed on as it arrives (a pull per client read, nothing buffered beyond
 * the chunk in hand), an idle watchdog ends a silent body, and any failure
 * after the headers went out errors the stream, so the client's connection
 * closes without the final chunk instead of ending cleanly.
 */
export function streamBack(
  upstream: Response,
  exchange: Exchange,
  options: StreamBackOptions,
): Response {
  const headers = forwardableResponseHeaders(upstream.headers);
  if (options.rewriteLocation) {
    for (const pair of headers) {
      if (pair[0] === "location") pair[1] = options.rewriteLocation(pair[1]);
    }
  }
  headers.push(...options.headers, ["x-request-id", exchange.requestId]);
  const init = {
    status: upstream.status,
    statusText: upstream.statusText,
    headers,
  };
  if (upstream.body === null) {
    options.done();
    return new Response(null, init);
  }
  exchange.streaming = true;
  const length = Number(upstream.headers.get("content-length") ?? NaN);
  if (exchange.completed !== undefined && length <= NATIVE_BODY_MAX_BYTES) {
    return nativeBody(upstream, init, length, exchange, options);
  }
  const { clock, signal } = options;
  const reader = upstream.body.getReader();
  let reading = false;
  const watchdog = idleWatchdog(
    clock,
    options.idleMs,
    () => options.abort(new UpstreamTimeout("idle")),
    () => reading,
  );
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    watchdog.stop();
    signal.removeEventListener("abort", onAbort);
    options.done();
    exchange.finish(upstream.status);
  };
  let client!: ReadableStreamDefaultController<Uint8Array>;
  /**
   * Ends the exchange at once for `reason`, synchronously: under workerd a
   * client that left tears the request's context down, so no `cancel()`
   * reaches this stream, a pending upstream read never settles and timers no
   * longer fire; the abort event is the last JavaScript that runs for it.
   */
  const stop = (reason: unknown) => {
    if (ended) return;
    if (isTimeout(reason)) {
      exchange.flag(reason.kind === "idle" ? "IT" : "TT");
    } else exchange.flag(reason instanceof ClientGone ? "CD" : "UR");
    end();
    client.error(reason);
    reader.cancel(reason).catch(() => {});
  };
  const onAbort = () => stop(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      client = controller;
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      // Silence is counted from here: the client asked, the upstream owes.
      watchdog.touch();
      reading = true;
      try {
        chunk = await reader.read();
      } catch (error) {
        stop(signal.reason ?? error);
        return;
      }
      reading = false;
      if (ended) return;
      if (chunk.done) {
        end();
        controller.close();
        return;
      }
      if (exchange.ttfbMs === null) {
        exchange.ttfbMs = clock.now() - exchange.startedAt;
      }
      exchange.bytesOut += chunk.value.byteLength;
      controller.enqueue(chunk.value);
    },
    cancel() {
      // The client went away (Deno): cancel the upstream request at once.
      options.abort(new ClientGone());
      stop(new ClientGone());
    },
  }, { highWaterMark: 0 });
  return new Response(body, init);
}

function nativeBody(
  upstream: Response,
  init: ResponseInit,
  length: number,
  exchange: Exchange,
  options: StreamBackOptions,
): Response {
  const { clock } = options;
  const started = clock.now();
  const cancelIdle = clock.setTimeout(
    () => options.abort(new UpstreamTimeout("idle")),
    options.idleMs,
  );
  const settle = (sent: boolean) => {
    cancelIdle();
    const reason = options.signal.reason;
    if (isTimeout(reason)) exchange.flag(reason.kind === "idle" ? "IT" : "TT");
    else if (!sent) {
      // The request signal fires only on client disconnect (no legacy abort).
      exchange.flag(exchange.request.signal.aborted ? "CD" : "UR");
    }
    if (sent && reason === undefined) {
      exchange.bytesOut = length;
      exchange.ttfbMs = started - exchange.startedAt;
    }
    options.done();
    exchange.finish(upstream.status);
  };
  exchange.completed!.then(() => settle(true), () => settle(false));
  return new Response(upstream.body, init);
}

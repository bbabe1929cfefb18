import type { CompressionPolicy, Encoding } from "../config/types.ts";
import { createChunkEncoder } from "../http/chunk_encoder.ts";
import type { HeaderRecord } from "../http/header_record.ts";
import {
  forwardableResponseHeaders,
  responseHeadersInit,
} from "../http/hop_by_hop.ts";
import type { Clock } from "../resilience/clock.ts";
import { idleWatchdog } from "../resilience/idle_watchdog.ts";
import { chooseEncoding } from "./choose_encoding.ts";
import {
  isEventStream,
  type SseHeartbeat,
  sseHeartbeat,
} from "./sse_heartbeat.ts";
import {
  ClientGone,
  ClientStalled,
  isTimeout,
  UpstreamBroke,
  UpstreamTimeout,
} from "./abort_reasons.ts";
import type { Exchange } from "./exchange.ts";
import { nativeBodyDeadlineMs, type NativePipe } from "./native_pipe.ts";

/** What streaming a response back needs from the forwarding stage. */
export interface StreamBackOptions {
  clock: Clock;
  /** Longest upstream silence while the client waits (`IT`). */
  idleMs: number;
  /** Longest the client may take nothing while a chunk is ready (`CD`). */
  clientIdleMs: number;
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
  headers: HeaderRecord;
  /** Maps a `Location` pointing into the upstream to the gateway's address. */
  rewriteLocation?: (location: string) => string;
  /** The route's `compression` policy; `null`: bodies go as they are. */
  compression: CompressionPolicy | null;
  /** The route's `sse.heartbeatMs`; `null`: no heartbeats. */
  heartbeatMs: number | null;
  /** The route's `timeouts.minBytesPerSecond`; `null`: never the native pipe. */
  minBytesPerSecond: number | null;
  /** The runtime's own pipe, where it has one that can be ended (Deno). */
  nativePipe?: NativePipe;
}

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
  const { fields } = headers;
  if (options.rewriteLocation && fields.location !== undefined) {
    fields.location = options.rewriteLocation(fields.location);
  }
  for (const name in options.headers) fields[name] = options.headers[name];
  fields["x-request-id"] = exchange.requestId;
  const encoding = options.compression === null || upstream.body === null
    ? null
    : chooseEncoding(
      options.compression,
      () => exchange.acceptEncoding(),
      upstream.status,
      fields,
    );
  const init = {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeadersInit(headers),
  };
  if (upstream.body === null) {
    options.done();
    return new Response(null, init);
  }
  exchange.streaming = true;
  // An exchange that ended while its response was held (the total deadline
  // during a retry decision, say) is relayed: the failed read ends it there.
  if (
    encoding === null && options.nativePipe !== undefined &&
    options.minBytesPerSecond !== null && exchange.completed !== undefined &&
    !options.signal.aborted
  ) {
    const { length } = headers;
    const end = length >= 0 ? options.nativePipe.take(upstream.body) : null;
    if (end !== null) {
      const deadlineMs = nativeBodyDeadlineMs(
        options.idleMs,
        length,
        options.minBytesPerSecond,
      );
      return nativeBody(upstream, init, { length, end, deadlineMs }, {
        exchange,
        options,
      });
    }
  }
  const eventStream = isEventStream(fields["content-type"] ?? null);
  return relayBody(upstream.body, init, exchange, options, {
    encoding,
    eventStream,
  });
}

/**
 * The chunk-by-chunk relay: a pull per client read, an idle watchdog, and
 * when asked, the chunk encoder and SSE heartbeats.
 */
function relayBody(
  upstreamBody: ReadableStream<Uint8Array>,
  init: ResponseInit & { status: number },
  exchange: Exchange,
  options: StreamBackOptions,
  { encoding, eventStream }: {
    encoding: Encoding | null;
    /** `Content-Type: text/event-stream`: SSE heartbeats may go in the gaps. */
    eventStream: boolean;
  },
): Response {
  const { clock, signal } = options;
  const reader = upstreamBody.getReader();
  const encoder = encoding === null ? null : createChunkEncoder(encoding);
  let heartbeat: SseHeartbeat | null = null;
  let reading = false;
  // Silence counts against whoever owes the next step: the upstream while
  // the client waits (`idleMs`), the client while a chunk waits for it
  // (`clientIdleMs`, then it is taken as gone). The second is also how a
  // departed client is noticed when the runtime never says so: workerd, when
  // a failed write is how it learns of the disconnect, neither fires
  // `request.signal` nor cancels this stream; it just stops pulling.
  const watchdog = idleWatchdog(
    clock,
    options.idleMs,
    () => options.abort(new UpstreamTimeout("idle")),
    () => reading,
  );
  const clientWatchdog = idleWatchdog(
    clock,
    options.clientIdleMs,
    () => options.abort(new ClientStalled()),
    () => !reading,
  );
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    watchdog.stop();
    clientWatchdog.stop();
    heartbeat?.stop();
    signal.removeEventListener("abort", onAbort);
    options.done();
    exchange.finish(init.status);
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
    encoder?.destroy();
    if (reason instanceof ClientGone && !(reason instanceof ClientStalled)) {
      // Nobody is left to see how it ends, and under workerd an errored
      // body is logged as an uncaught exception, one per disconnect.
      closeQuietly(client);
    } else client.error(reason);
    reader.cancel(reason).catch(() => {});
  };
  const pass = (bytes: Uint8Array) => {
    exchange.bytesOut += bytes.byteLength;
    client.enqueue(bytes);
  };
  const onAbort = () => stop(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      client = controller;
      if (options.heartbeatMs === null || !eventStream) return;
      heartbeat = sseHeartbeat(clock, options.heartbeatMs, {
        isWaiting: () => reading && !ended,
        send(bytes) {
          if (encoder === null) return pass(bytes);
          encoder.encode(bytes).then(
            (out) => ended || pass(out),
            () => {}, // the relay's own encode reports the failure
          );
        },
      });
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      // Silence is counted from here: the client asked, the upstream owes.
      watchdog.touch();
      reading = true;
      try {
        chunk = await reader.read();
      } catch (error) {
        stop(signal.reason ?? new UpstreamBroke(error));
        return;
      }
      reading = false;
      if (ended) return;
      // From here until the next pull, the client owes the progress.
      clientWatchdog.touch();
      if (chunk.done) {
        if (encoder !== null) {
          try {
            pass(await encoder.finish());
          } catch (error) {
            return stop(error);
          }
        }
        end();
        controller.close();
        return;
      }
      if (exchange.ttfbMs === null) {
        exchange.ttfbMs = clock.now() - exchange.startedAt;
      }
      heartbeat?.relayed(chunk.value);
      if (encoder === null) return pass(chunk.value);
      try {
        const out = await encoder.encode(chunk.value);
        if (!ended) pass(out);
      } catch (error) {
        options.abort(error);
        stop(error);
      }
    },
    cancel() {
      // The client went away (Deno): cancel the upstream request at once.
      options.abort(new ClientGone());
      stop(new ClientGone());
    },
  }, { highWaterMark: 0 });
  return new Response(body, init);
}

/** Closes a stream the runtime may have cancelled already (Deno). */
function closeQuietly(stream: ReadableStreamDefaultController<Uint8Array>) {
  try {
    stream.close();
  } catch {
    // Cancelled: closed already.
  }
}

/**
 * A body of known length handed to the runtime's own pipe: no JavaScript
 * per chunk, so no gaps to time either. One deadline, `idleMs` plus the
 * length at `minBytesPerSecond`, stands in for both idle timeouts. It and
 * every other end of the exchange (total deadline, client gone) end the
 * exchange at once and cut the pipe through `end`, which also frees it once
 * the body was sent. A cut reaches the client at the pipe's next read: a
 * client that stopped reading holds its connection, and the upstream's,
 * until it reads or leaves (see docs/streaming.md).
 */
function nativeBody(
  upstream: Response,
  init: ResponseInit,
  piped: { length: number; end: () => void; deadlineMs: number },
  { exchange, options }: { exchange: Exchange; options: StreamBackOptions },
): Response {
  const { clock, signal } = options;
  const started = clock.now();
  const cancelDeadline = clock.setTimeout(
    () => options.abort(new UpstreamTimeout("idle")),
    piped.deadlineMs,
  );
  let settled = false;
  const settle = (sent: boolean) => {
    if (settled) return;
    settled = true;
    cancelDeadline();
    signal.removeEventListener("abort", onAbort);
    piped.end();
    const reason = signal.reason;
    if (isTimeout(reason)) exchange.flag(reason.kind === "idle" ? "IT" : "TT");
    else if (!sent || reason !== undefined) {
      exchange.flag(exchange.request.signal.aborted ? "CD" : "UR");
    } else {
      exchange.bytesOut = piped.length;
      exchange.ttfbMs = started - exchange.startedAt;
    }
    options.done();
    exchange.finish(upstream.status);
  };
  const onAbort = () => settle(false);
  signal.addEventListener("abort", onAbort, { once: true });
  // Deno 2.9 over HTTP/1.1 resolves `completed` for a body it sent whole,
  // and also for one whose upstream broke off or whose client left while the
  // pipe was writing (no request signal either): those count as sent. Over
  // HTTP/2 it rejects for both and fires the request signal, so an upstream
  // that broke off is flagged as the client leaving (docs/streaming.md).
  exchange.completed!.then(() => settle(true), () => settle(false));
  return new Response(upstream.body, init);
}

import type { GatewayConfig } from "../../config/types.ts";
import {
  createGateway,
  type Gateway,
  type GatewayOptions,
} from "../../gateway.ts";
import { internalError } from "../../errors.ts";
import { requestIdFor } from "../../http/request_id.ts";
import { problemResponse } from "../../http/problem.ts";
import { batchedSink } from "../../observe/batched_sink.ts";
import { isDeliberateEnd } from "../../pipeline/abort_reasons.ts";
import { DENO_CLIENT_WATCH_DELAY_MS, denoClock } from "./clock.ts";
import { denoNativePipe } from "./native_pipe.ts";
import { denoWebSocketRuntime } from "./websocket.ts";

const encoder = new TextEncoder();

function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

/** What `serveGateway` serves and how. */
export interface ServeOptions extends Omit<GatewayOptions, "config"> {
  /** The validated config. */
  config: GatewayConfig;
  /** Listening port; `0` picks a free one (see `ServingGateway.port`). */
  port: number;
  /** Listening address. */
  hostname: string;
  /** How long in-flight exchanges may run after SIGTERM/SIGINT. */
  drainMs: number;
  /**
   * PEM certificate chain and private key: serve HTTPS, and HTTP/2 to
   * clients that offer it (ALPN). Absent: plain HTTP/1.1.
   */
  tls?: { cert: string; key: string };
  /** Listen for SIGTERM/SIGINT (off in tests, which call `shutdown()`). */
  handleSignals?: boolean;
  /** Extra fields for the `listening` log line. */
  listenFields?: Record<string, unknown>;
}

/** A gateway being served; `shutdown()` drains and stops it. */
export interface ServingGateway {
  /** The gateway answering. */
  readonly gateway: Gateway;
  /** The port actually listened on. */
  readonly port: number;
  /**
   * Graceful shutdown: readiness turns 503 at once, no new connections, the
   * exchanges in flight (open streams too) run to their end for up to
   * `drainMs`; then whatever is left is cut off. Resolves when done.
   */
  shutdown(): Promise<void>;
  /** Resolves when a shutdown has completed (drained or drain time over). */
  readonly stopped: Promise<void>;
}

/**
 * Serves the gateway with `Deno.serve` (over TLS when `tls` is given), with
 * graceful shutdown on SIGTERM/SIGINT.
 */
export function serveGateway(options: ServeOptions): ServingGateway {
  // Log lines leave in batches unless the caller takes them itself (tests).
  const clock = options.clock ?? denoClock();
  const stdout = options.logSink ? null : batchedSink(writeStdout, clock);
  const gateway = createGateway({
    websocketRuntime: denoWebSocketRuntime,
    ...options,
    clock,
    clientWatchDelayMs: options.clientWatchDelayMs ??
      DENO_CLIENT_WATCH_DELAY_MS,
    nativePipe: options.nativePipe ?? denoNativePipe(),
    logSink: options.logSink ?? stdout!.sink,
  });
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    // Under TLS, request.url is https:, which X-Forwarded-Proto follows.
    ...options.tls,
    // Deno reports here a response body that errored, and the gateway errors
    // the ones it cuts (a deadline, a client taken as gone, a broken
    // upstream): their access lines already say why. Anything else gets a
    // JSON line like every other line, instead of Deno's stack dump.
    onError(error) {
      if (!isDeliberateEnd(error)) {
        gateway.logger.error("response failed", { error });
      }
      return problemResponse(internalError(), requestIdFor(null));
    },
    // The line tests and orchestration wait for: JSON with the real port.
    onListen: ({ port, hostname }) =>
      gateway.logger.info("listening", {
        port,
        hostname,
        tls: options.tls !== undefined,
        ...options.listenFields,
      }),
  }, (request, info) =>
    gateway.fetch(request, {
      address: (info.remoteAddr as Deno.NetAddr).hostname,
      completed: info.completed,
    }));

  let shuttingDown: Promise<void> | null = null;
  let markStopped = () => {};
  const stopped = new Promise<void>((resolve) => markStopped = resolve);
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      gateway.startDrain();
      gateway.logger.info("draining", {
        inflight: gateway.inflight,
        drainMs: options.drainMs,
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Deno's server.shutdown() drops upgraded connections without a close
      // frame, so it waits until the open WebSockets have closed (on their
      // own, or with 1001 when the drain time ends). Until then new
      // connections are still accepted, and answered 503 `draining`.
      const serverDown = gateway.webSocketsClosed().then(() =>
        server.shutdown()
      );
      const drained = await Promise.race([
        serverDown.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), options.drainMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) {
        gateway.logger.warn("drain time over; closing open exchanges", {
          inflight: gateway.inflight,
          websockets: gateway.openWebSockets,
        });
        // 1001 to every open socket; their close handshakes end within the relay's grace.
        gateway.closeWebSockets();
        await gateway.webSocketsClosed();
      }
      await gateway.close();
      if (options.handleSignals) removeSignals();
      gateway.logger.info("stopped", { drained });
      stdout?.flush();
      markStopped();
    })();
    return shuttingDown;
  };

  const onSignal = () => void shutdown();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGTERM", "SIGINT"];
  const removeSignals = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  };
  if (options.handleSignals) {
    for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  }

  return {
    gateway,
    get port() {
      return server.addr.port;
    },
    shutdown,
    stopped,
  };
}

/**
 * The `deno serve` entry: `export default { fetch }`, so Deno runs the
 * server and can spread it over every core:
 *
 *   deno serve --parallel --allow-net --allow-env --allow-read --allow-write \
 *     --port 8000 deploy/deno/serve.ts
 *
 * Each worker is its own isolate with its own gateway; they share breaker
 * state through the Deno KV file (`GATEWAY_KV_PATH`), exactly like separate
 * processes. Deno owns the listener and the shutdown here: on SIGTERM it
 * stops accepting and exits when the requests in flight are done, without
 * the drain deadline, readiness flip or logs of `deno task start`
 * (deploy/deno/main.ts). Nor can it take an `onError`: a stream the gateway
 * cuts (a deadline, a client taken as gone) shows, besides its access line,
 * Deno's own error print on stderr.
 */
import { createGateway } from "../../src/gateway.ts";
import { batchedSink } from "../../src/observe/batched_sink.ts";
import {
  DENO_CLIENT_WATCH_DELAY_MS,
  denoClock,
} from "../../src/runtime/deno/clock.ts";
import { denoNativePipe } from "../../src/runtime/deno/native_pipe.ts";
import { setupFromEnv } from "../../src/runtime/deno/start_from_env.ts";
import { denoWebSocketRuntime } from "../../src/runtime/deno/websocket.ts";

const { settings, gatewayOptions, otelMetrics } = await setupFromEnv();
const encoder = new TextEncoder();
const clock = denoClock();
const { sink } = batchedSink(
  (text) => void Deno.stdout.write(encoder.encode(text)),
  clock,
);
const gateway = createGateway({
  ...gatewayOptions,
  clock,
  clientWatchDelayMs: DENO_CLIENT_WATCH_DELAY_MS,
  nativePipe: denoNativePipe(),
  websocketRuntime: denoWebSocketRuntime,
  // deno serve stops on SIGTERM once nothing is scheduled: sync breaker
  // state on traffic (every 250 ms at most) rather than on a timer of its own.
  breakerSync: { ...gatewayOptions.breakerSync, autoSync: false },
  config: settings.config,
  logSink: sink,
});

otelMetrics?.observe(() => gateway.renderMetrics());

export default {
  fetch: (request, info) =>
    gateway.fetch(request, {
      address: (info.remoteAddr as Deno.NetAddr).hostname,
      completed: info.completed,
    }),
} satisfies Deno.ServeDefaultExport;

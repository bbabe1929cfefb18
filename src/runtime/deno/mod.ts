/**
 * The gateway on Deno: serve it with a graceful drain, read its settings
 * from the environment as `deno task start` does, and share breaker state
 * through Deno KV.
 *
 * @module
 */

export {
  serveGateway,
  type ServeOptions,
  type ServingGateway,
} from "./serve_gateway.ts";
export {
  type DenoSetup,
  readSettings,
  setupFromEnv,
  startFromEnv,
  type StartSettings,
} from "./start_from_env.ts";
export { DenoKvBreakerStore, openKv } from "./kv_breaker_store.ts";
export type { SharedStore, StoreSetting } from "./shared_store.ts";
export type { OtelMetricsExport } from "./otel_metrics.ts";
export { denoWebSocketRuntime } from "./websocket.ts";
export { denoNativePipe } from "./native_pipe.ts";
export {
  type OtelContinueTrace,
  type OtelTraceContext,
  otelTraceContinuer,
  type TracedRoute,
} from "./otel.ts";

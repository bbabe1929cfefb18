/**
 * The edge gateway as a library: build it from a config and serve its
 * `fetch` from any runtime, or mount it inside your own Hono app.
 *
 * The runtime adapters are separate entry points, so a Workers bundle never
 * pulls in code written for Deno and the reverse: `./deno` (serve with a
 * drain, settings from the environment, the Deno KV store) and `./workers`
 * (the Workers handler, the Durable Object and Workers KV stores).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createGateway, parseConfig } from "./mod.ts";
 *
 * const parsed = parseConfig(
 *   JSON.stringify({ routes: [{ name: "a", path: "/a/*", upstreams: ["http://127.0.0.1:9"] }] }),
 *   (name) => Deno.env.get(name),
 * );
 * assert.ok(parsed.ok);
 * const gateway = createGateway({ config: parsed.config, logSink: () => {} });
 * const response = await gateway.fetch(new Request("http://gw.test/elsewhere"));
 * assert.equal(response.status, 404);
 * assert.equal((await response.json()).code, "no_route");
 * await gateway.close();
 * ```
 *
 * @module
 */

export {
  type BreakerSyncOptions,
  type ClientContext,
  createGateway,
  type Gateway,
  type GatewayOptions,
} from "./src/gateway.ts";
export type { TraceContinuer } from "./src/http/traceparent.ts";
export type { NativePipe } from "./src/pipeline/native_pipe.ts";
export type { LogSink } from "./src/observe/log_line.ts";
export type { AccessLogEntry, ResponseFlag } from "./src/observe/access_log.ts";
export type { Logger, LogMethod } from "./src/observe/logger.ts";
export type {
  AttemptOutcome,
  BreakerStateSample,
  GatewayMetrics,
  GatewayMetricsOptions,
  InternalEndpoint,
  TimeoutKind,
  UpstreamSample,
} from "./src/observe/metrics.ts";
export type { WindowRate } from "./src/observe/rate_window.ts";
export type {
  Admission,
  BreakerBoard,
  BreakerBoardOptions,
  BreakerHandle,
  BreakerStateName,
  BreakerView,
  StoreHealth,
} from "./src/resilience/breaker_board.ts";
export type { BreakerState } from "./src/resilience/breaker_merge.ts";
export type {
  BreakerPolicy,
  CallOutcome,
  ForceAction,
} from "./src/resilience/circuit_breaker.ts";
export {
  type ConfigResult,
  type EnvLookup,
  parseConfig,
} from "./src/config/load_config.ts";
export { validateConfig } from "./src/config/validate_config.ts";
export { isDeliberateEnd } from "./src/pipeline/abort_reasons.ts";
export type * from "./src/config/types.ts";
export type {
  AdvisoryBreakerStore,
  AtomicBreakerStore,
  BreakerStore,
  BreakerStoreBase,
  BreakerStoreValue,
  HealthRecord,
  ProbeLease,
  StoreCheck,
  StoreWrite,
  UpstreamHealth,
  VersionedValue,
} from "./src/resilience/breaker_store.ts";
export { MemoryBreakerStore } from "./src/runtime/memory/breaker_store.ts";
export {
  type CancelTimer,
  type Clock,
  systemClock,
} from "./src/resilience/clock.ts";
export { VERSION } from "./src/version.ts";
export type { FleetRateLimitFactory } from "./src/pipeline/route_runtime.ts";
export type { FleetCounter } from "./src/resilience/fleet_rate_limiter.ts";
export type { StoreGuard } from "./src/resilience/breaker_store_guard.ts";
export type { WebSocketCounters } from "./src/observe/metrics.ts";
export type { WebSocketRuntime } from "./src/websocket/socket.ts";
export type {
  RateLimit,
  RateLimitDecision,
} from "./src/resilience/rate_limiter.ts";
export type { Series } from "./src/observe/series_family.ts";
export type {
  RelaySocket,
  UpstreamHandshake,
  UpstreamSocketRequest,
} from "./src/websocket/socket.ts";

/**
 * The gateway on Cloudflare Workers: the module handler, the per-isolate
 * gateway built from the Worker's bindings, and the breaker stores (a
 * Durable Object, or Workers KV) with the Durable Object class itself.
 *
 * @module
 */

export {
  type WorkersHandler,
  workersHandler,
  type WorkersHandlerOptions,
} from "./workers_handler.ts";
export {
  gatewayFor,
  type WorkerContext,
  type WorkerEnv,
  type WorkerGateway,
} from "./gateway_for_env.ts";
export { fetchKeepingEncoding, respondWithBodyAsIs } from "./body_as_is.ts";
export { configErrorResponse } from "./config_error_response.ts";
export type { RateLimitBinding } from "./rate_limit_binding.ts";
export { workersWebSocketRuntime } from "./websocket.ts";
export {
  type BreakerObjectNamespace,
  type BreakerObjectStub,
  DurableBreakerStore,
} from "./durable_breaker_store.ts";
export { BreakerStateObject } from "./breaker_state_object.ts";
export {
  WorkersKvBreakerStore,
  type WorkersKvNamespace,
} from "./kv_breaker_store.ts";
export {
  type AnalyticsEngineDataset,
  analyticsWriter,
} from "./analytics_engine.ts";

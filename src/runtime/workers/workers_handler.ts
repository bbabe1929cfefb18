/**
 * The Cloudflare Workers `fetch` handler: what a Worker's entry module
 * exports as its default.
 *
 * @module
 */

import { respondWithBodyAsIs } from "./body_as_is.ts";
import { configErrorResponse } from "./config_error_response.ts";
import {
  gatewayFor,
  type WorkerContext,
  type WorkerEnv,
} from "./gateway_for_env.ts";

/** What `workersHandler` needs to know about the Worker it serves. */
export interface WorkersHandlerOptions {
  /**
   * The config used when the `GATEWAY_CONFIG` variable is empty or absent,
   * usually a gateway.json bundled with the Worker (imported as JSON).
   */
  bundledConfig: unknown;
}

/** A Workers module handler: `export default workersHandler(...)`. */
export interface WorkersHandler {
  /** Answers one request of the Worker. */
  fetch(
    request: Request,
    env: WorkerEnv,
    ctx: WorkerContext,
  ): Promise<Response>;
  /**
   * The Cron Trigger (`wrangler.toml` `[triggers] crons`): one round of the
   * routes' active health checks, under the fleet's lease in the store.
   */
  scheduled(
    controller: unknown,
    env: WorkerEnv,
    ctx: WorkerContext,
  ): Promise<void>;
}

/**
 * Creates the Worker's handler: each request goes to the isolate's gateway
 * (see `gatewayFor`), with the client address Cloudflare's edge sets and
 * bodies passed on exactly as the upstream encoded them. While the config is
 * invalid, every request gets a 500 problem naming each bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workersHandler } from "./workers_handler.ts";
 * const bundledConfig = {
 *   routes: [{ name: "a", path: "/a/*", upstreams: ["http://127.0.0.1:9"] }],
 * };
 * const worker = workersHandler({ bundledConfig });
 * const response = await worker.fetch(new Request("http://gw.test/b"), {}, { waitUntil() {} });
 * assert.equal(response.status, 404);
 * assert.equal(response.headers.get("content-type"), "application/problem+json");
 * ```
 */
export function workersHandler(options: WorkersHandlerOptions): WorkersHandler {
  return {
    async fetch(request, env, ctx) {
      const built = gatewayFor(env, ctx, options.bundledConfig);
      // No start-up can stop on a bad config here: every request says why.
      if (!built.ok) return configErrorResponse(request, built.errors);
      const response = await built.gateway.fetch(request, {
        // Set by Cloudflare's edge (and by wrangler dev), not by the client.
        address: request.headers.get("cf-connecting-ip") ?? undefined,
        // Until the exchange ends, whatever the client does.
        waitUntil: (promise) => ctx.waitUntil(promise),
        // The edge shows the Worker `Accept-Encoding: br, gzip`; what the
        // client sent decides the gateway's own compression.
        acceptEncoding: (request as { cf?: { clientAcceptEncoding?: string } })
          .cf?.clientAcceptEncoding,
      });
      return respondWithBodyAsIs(response);
    },
    async scheduled(_controller, env, ctx) {
      const built = gatewayFor(env, ctx, options.bundledConfig);
      if (built.ok) await built.gateway.checkHealth();
    },
  };
}

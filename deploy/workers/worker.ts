/**
 * The Cloudflare Workers entry (`wrangler.toml` `main`): the same gateway as
 * on Deno, with the config from the `GATEWAY_CONFIG` variable or the bundled
 * gateway.json and breaker state in the `GATEWAY_BREAKERS` Durable Object
 * (or, without that binding, hints in the `GATEWAY_KV` namespace).
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

// Workers finds a Durable Object class among the entry module's exports.
export { BreakerStateObject } from "../../src/runtime/workers/breaker_state_object.ts";

export default {
  async fetch(
    request: Request,
    env: WorkerEnv,
    ctx: WorkerContext,
  ): Promise<Response> {
    const built = gatewayFor(env, ctx);
    // No start-up can stop on a bad config here: every request says why.
    if (!built.ok) return configErrorResponse(request, built.errors);
    const response = await built.gateway.fetch(request, {
      // Set by Cloudflare's edge (and by wrangler dev), not by the client.
      address: request.headers.get("cf-connecting-ip") ?? undefined,
    });
    return respondWithBodyAsIs(response);
  },
};

/**
 * The Cloudflare Workers entry (`wrangler.toml` `main`): the same gateway as
 * on Deno, with the config from the `GATEWAY_CONFIG` variable or the bundled
 * gateway.json and breaker state in the `GATEWAY_BREAKERS` Durable Object
 * (or, without that binding, hints in the `GATEWAY_KV` namespace).
 *
 * @module
 */

import bundledConfig from "../../gateway.json" with { type: "json" };
import { workersHandler } from "../../src/runtime/workers/workers_handler.ts";

// Workers finds a Durable Object class among the entry module's exports.
export { BreakerStateObject } from "../../src/runtime/workers/breaker_state_object.ts";

export default workersHandler({ bundledConfig });

/**
 * `deno task start`: the gateway with settings from the environment
 * (GATEWAY_CONFIG, PORT, HOSTNAME, GATEWAY_DRAIN_MS, GATEWAY_KV_PATH,
 * GATEWAY_TLS_CERT and GATEWAY_TLS_KEY).
 * Exits 0 after a graceful drain on SIGTERM/SIGINT.
 */
import { startFromEnv } from "../../src/runtime/deno/start_from_env.ts";

const serving = await startFromEnv();
await serving.stopped;
Deno.exit(0);

/**
 * The Deno Deploy entry point. Deploy runs it like `deno run` (no `deno
 * serve`, no `--unstable-*` flags: `deno.json` enables KV), so it starts the
 * server itself, the same way `deno task start` does, with one difference:
 * breaker state lives in the platform's Deno KV, opened with no path and
 * shared by every instance of the deployment.
 *
 * Settings are the usual environment variables: `GATEWAY_CONFIG` (path of
 * the config in the deployed files, default `./gateway.json`),
 * `GATEWAY_DRAIN_MS`, and whatever the config's `*Env` fields name.
 *
 * @module
 */
import { startFromEnv } from "../../src/runtime/deno/start_from_env.ts";

// A local KV file means nothing on Deploy: without a path, Deno.openKv()
// opens the deployment's own database.
Deno.env.delete("GATEWAY_KV_PATH");

const serving = await startFromEnv();
await serving.stopped;
Deno.exit(0);

/**
 * `deno task dev`: the demo origin on 127.0.0.1:$DEMO_PORT (8001) and the
 * gateway on :$PORT (8000) with the shipped `gateway.json`, breaker state in
 * a local Deno KV file, restarted by `--watch` when the code or config
 * changes. Dev-only defaults fill in the secrets the shipped config names,
 * so the README's curl examples work on a fresh machine.
 */
import { startFromEnv } from "../../src/runtime/deno/start_from_env.ts";
import { demoOrigin } from "./demo_origin.ts";

const DEV_DEFAULTS: Record<string, string> = {
  GATEWAY_KV_PATH: ".gateway-dev.kv",
  GATEWAY_ADMIN_TOKEN: "dev-admin-token-change-me",
  DEMO_API_KEYS: "demo-key-1,demo-key-2",
  GATEWAY_DRAIN_MS: "2000",
};
for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
  if (!Deno.env.get(name)) Deno.env.set(name, value);
}

const demoPort = Number(Deno.env.get("DEMO_PORT") ?? 8001);
const demo = Deno.serve({
  hostname: "127.0.0.1",
  port: demoPort,
  onListen: ({ port }) =>
    console.log(JSON.stringify({ msg: "demo origin listening", port })),
}, demoOrigin);

// No drain in development: Ctrl-C stops the gateway and the file watcher
// at once (a signal listener here would keep the watcher waiting).
await startFromEnv({ handleSignals: false, allowDemo: true });
await demo.finished;

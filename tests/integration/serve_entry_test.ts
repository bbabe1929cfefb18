/**
 * The `deno serve` entry (deploy/deno/serve.ts) under `--parallel`: every
 * worker answers routed requests, and the workers share breaker state
 * through the one Deno KV file, as separate processes do.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import {
  killQuietly,
  REPO_ROOT,
  spawnCaptured,
  waitForExit,
} from "../_fixtures/child_process.ts";

Deno.test("deno serve --parallel runs the gateway on every worker", async () => {
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "gateway-serve-" });
  const configPath = `${dir}/gateway.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      routes: [{
        name: "api",
        path: "/api/*",
        upstreams: [`${origin.url}/echo`],
        stripPrefix: "/api",
      }],
    }),
  );
  const spawned = spawnCaptured(Deno.execPath(), [
    "serve",
    "--parallel",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    `${REPO_ROOT}deploy/deno/serve.ts`,
  ], {
    GATEWAY_CONFIG: configPath,
    GATEWAY_KV_PATH: `${dir}/gateway.kv`,
    DENO_JOBS: "2",
    NO_COLOR: "1",
  });
  try {
    const listening = (line: string) => {
      const match = /Listening on https?:\/\/[^:]+:(\d+)\//.exec(line);
      return match ? Number(match[1]) : undefined;
    };
    const port = await Promise.race([
      spawned.stdout.waitFor(listening, 30_000),
      spawned.stderr.waitFor(listening, 30_000),
    ]);
    // Enough requests that both workers (round-robin by the kernel) answer.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/x?i=${i}`);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).path, "/echo/x");
    }
    assert.equal(origin.hits("/echo"), 20);
  } finally {
    killQuietly(spawned.child, "SIGTERM");
    await waitForExit(spawned, 10_000);
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

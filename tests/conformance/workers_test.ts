import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { startWranglerDev } from "./_harness/wrangler_dev.ts";
import { assertProblem, send } from "./cases/http.ts";
import { conformanceConfig, runConformanceSuite } from "./suite.ts";

// wrangler dev runs the real workerd locally; the first run on a fresh clone
// installs the pinned wrangler from npm (deploy/workers/wrangler.sh).

Deno.test("conformance: deploy/workers/worker.ts under wrangler dev (workerd)", async (t) => {
  const origin = await Origin.start();
  try {
    const worker = await startWranglerDev(
      JSON.stringify(conformanceConfig(origin.url)),
    );
    try {
      await runConformanceSuite(t, {
        runtime: "workerd",
        baseUrl: worker.baseUrl,
        origin,
      });
      await t.step(
        "the breaker's open transition reached GATEWAY_KV",
        async () => {
          // The suite's breaker case opened route "breaker": the advisory store
          // writes each transition to the namespace other isolates read.
          const keys = await worker.kvKeys();
          assert.ok(
            keys.some((key) =>
              key.includes("breaker|") && key.includes(origin.url)
            ),
            `keys: ${keys.join(", ")}`,
          );
        },
      );
    } finally {
      await worker.stop();
    }
  } finally {
    await origin.close();
  }
});

Deno.test("conformance: an invalid config makes the Worker answer 500 with every error", async () => {
  const invalid = JSON.stringify({
    routes: [{ name: "bad", path: "/x/*", upstreams: ["not a url"] }],
    defaults: { retry: { retries: -1 } },
  });
  // Even liveness answers 500 here: the Worker has nothing else to serve.
  const worker = await startWranglerDev(invalid, { liveStatus: 500 });
  try {
    for (const path of ["/x/anything", "/_gateway/health/ready"]) {
      const res = await send(worker, "GET", path);
      const problem = assertProblem(res, 500, "invalid_config");
      assert.match(String(problem.detail), /routes\[0\]\.upstreams/);
      assert.match(String(problem.detail), /defaults\.retry\.retries/);
    }
  } finally {
    await worker.stop();
  }
});

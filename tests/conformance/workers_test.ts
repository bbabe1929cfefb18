import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { headersThenStall, RawOrigin } from "../_fixtures/raw_origin.ts";
import { WsOrigin } from "../_fixtures/ws_origin.ts";
import { startWranglerDev } from "./_harness/wrangler_dev.ts";
import { assertProblem, send } from "./cases/http.ts";
import { conformanceConfig, runConformanceSuite } from "./suite.ts";
import { ADMIN_TOKEN } from "./target.ts";

// wrangler dev runs the real workerd locally; the first run on a fresh clone
// installs the pinned wrangler from npm (deploy/workers/wrangler.sh).

Deno.test("conformance: deploy/workers/worker.ts under wrangler dev (workerd)", async (t) => {
  const origin = await Origin.start();
  const stalled = RawOrigin.start(headersThenStall());
  const wsOrigin = WsOrigin.start();
  try {
    const worker = await startWranglerDev(
      JSON.stringify(conformanceConfig(origin.url, stalled.url, wsOrigin.url)),
    );
    try {
      await runConformanceSuite(t, {
        runtime: "workerd",
        baseUrl: worker.baseUrl,
        origin,
        stalled,
        wsOrigin,
      });
      await t.step(
        "the breaker's open transition went through the Durable Object store",
        async () => {
          // wrangler.toml binds GATEWAY_BREAKERS, so the suite's breaker case
          // opened route "breaker" through the object: a broken binding or
          // object would show as store errors. Sharing between two gateways
          // (and the KV fallback) is checked in workers_durable_test.ts.
          const res = await fetch(`${worker.baseUrl}/_gateway/breakers`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          const body = await res.json();
          const breaker = body.breakers.find((b: { route: string }) =>
            b.route === "breaker"
          );
          assert.equal(breaker?.state, "open");
          assert.deepEqual(
            { healthy: body.store.healthy, errors: body.store.errors },
            { healthy: true, errors: 0 },
          );
        },
      );
      await t.step(
        "clients that left logged no uncaught exception",
        () => {
          // The abort cases above had clients leave mid-stream and before
          // the headers; an errored body for them would be logged by
          // workerd as "Uncaught ClientGone", one per disconnect.
          const stderr = worker.stderr.lines.join("\n");
          assert.doesNotMatch(stderr, /Uncaught ClientGone/);
        },
      );
    } finally {
      await worker.stop();
    }
  } finally {
    await origin.close();
    await stalled.close();
    await wsOrigin.close();
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

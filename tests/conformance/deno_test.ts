import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { headersThenStall, RawOrigin } from "../_fixtures/raw_origin.ts";
import { WsOrigin } from "../_fixtures/ws_origin.ts";
import {
  runDenoGatewayToExit,
  startDenoGateway,
} from "./_harness/deno_gateway.ts";
import { conformanceConfig, runConformanceSuite } from "./suite.ts";

Deno.test("conformance: deploy/deno/main.ts on Deno", async (t) => {
  const origin = await Origin.start();
  const stalled = RawOrigin.start(headersThenStall());
  const wsOrigin = WsOrigin.start();
  try {
    const gateway = await startDenoGateway(
      JSON.stringify(conformanceConfig(origin.url, stalled.url, wsOrigin.url)),
    );
    let stopped = false;
    try {
      await runConformanceSuite(t, {
        runtime: "deno",
        baseUrl: gateway.baseUrl,
        origin,
        stalled,
        wsOrigin,
      });
      // SIGTERM drains and exits 0 (nothing is in flight any more).
      stopped = true;
      const status = await gateway.stop();
      assert.equal(status.code, 0, gateway.stderr.tail());
    } finally {
      if (!stopped) await gateway.stop();
    }
  } finally {
    await origin.close();
    await stalled.close();
    await wsOrigin.close();
  }
});

Deno.test("conformance: an invalid config stops the Deno gateway before it listens", async () => {
  const { status, output } = await runDenoGatewayToExit(JSON.stringify({
    routes: [{ name: "bad", path: "/x/*", upstreams: ["not a url"] }],
    defaults: { retry: { retries: -1 } },
  }));
  assert.equal(status.code, 1);
  assert.match(output, /gateway: cannot start, the configuration is invalid:/);
  assert.doesNotMatch(output, /"msg":"listening"/);
  // Every problem is listed, each with its path.
  assert.match(output, /routes\[0\]\.upstreams/);
  assert.match(output, /defaults\.retry\.retries/);
});

/**
 * `/_gateway/metrics` over loopback: private wherever an admin token is
 * configured (the admin token or a metrics token), public only on purpose or
 * without any token; health stays open; the gateway's own requests are
 * counted apart from routed traffic; a live scrape passes
 * `promtool check metrics`.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { startTestGateway, type TestGateway } from "../_fixtures/gateway.ts";
import { PROMTOOL, promtool, PROMTOOL_REASON } from "../_fixtures/promtool.ts";

const ADMIN = "admin-token-for-metrics-tests";
const SCRAPE = "scrape-token-for-metrics-tests";

function config(originUrl: string, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    routes: [{
      name: "users",
      path: "/users/*",
      upstreams: [`${originUrl}/echo`],
      stripPrefix: "/users",
    }],
  };
}

async function status(
  gw: TestGateway,
  path: string,
  token?: string,
): Promise<number> {
  const res = await fetch(`${gw.url}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status;
}

async function withGateway(
  extra: Record<string, unknown>,
  run: (gw: TestGateway) => Promise<void>,
): Promise<void> {
  const origin = await Origin.start();
  const gw = await startTestGateway(config(origin.url, extra), {
    env: { SCRAPE_TOKEN: SCRAPE },
  });
  try {
    await run(gw);
  } finally {
    await gw.close();
    await origin.close();
  }
}

Deno.test("metrics: with an admin token they need it; health stays open", async () => {
  await withGateway({ admin: { token: ADMIN } }, async (gw) => {
    const anonymous = await fetch(`${gw.url}/_gateway/metrics`);
    assert.equal(anonymous.status, 401);
    assert.equal(
      anonymous.headers.get("www-authenticate"),
      'Bearer realm="gateway-metrics"',
    );
    const problem = await anonymous.json();
    assert.equal(problem.code, "unauthorized");
    assert.doesNotMatch(JSON.stringify(problem), /echo|127\.0\.0\.1/);
    assert.equal(await status(gw, "/_gateway/metrics", "wrong-token"), 401);
    assert.equal(await status(gw, "/_gateway/metrics", ADMIN), 200);
    assert.equal(await status(gw, "/_gateway/health/live"), 200);
    assert.equal(await status(gw, "/_gateway/health/ready"), 200);
  });
});

Deno.test("metrics: a metrics token opens the metrics only; the admin token still works", async () => {
  await withGateway({
    admin: { token: ADMIN },
    metrics: { tokenEnv: "SCRAPE_TOKEN" },
  }, async (gw) => {
    assert.equal(await status(gw, "/_gateway/metrics"), 401);
    assert.equal(await status(gw, "/_gateway/metrics", SCRAPE), 200);
    assert.equal(await status(gw, "/_gateway/metrics", ADMIN), 200);
    // The scrape credential is no admin credential.
    assert.equal(await status(gw, "/_gateway/breakers", SCRAPE), 401);
    assert.equal(await status(gw, "/_gateway/status.json", SCRAPE), 401);
    assert.equal(await status(gw, "/_gateway/breakers", ADMIN), 200);
  });
});

Deno.test("metrics: public on purpose, or without any token", async () => {
  await withGateway(
    { admin: { token: ADMIN }, metrics: { public: true } },
    async (gw) => {
      assert.equal(await status(gw, "/_gateway/metrics"), 200);
      assert.equal(await status(gw, "/_gateway/breakers"), 401);
    },
  );
  await withGateway({}, async (gw) => {
    assert.equal(await status(gw, "/_gateway/metrics"), 200);
  });
  await withGateway({ metrics: { token: SCRAPE } }, async (gw) => {
    assert.equal(await status(gw, "/_gateway/metrics"), 401);
    assert.equal(await status(gw, "/_gateway/metrics", SCRAPE), 200);
  });
});

Deno.test("metrics: the gateway's own endpoints are counted apart from routed traffic", async () => {
  await withGateway({ admin: { token: ADMIN } }, async (gw) => {
    assert.equal(await status(gw, "/users/1"), 200);
    assert.equal(await status(gw, "/nowhere"), 404);
    for (let i = 0; i < 3; i++) {
      assert.equal(await status(gw, "/_gateway/health/ready"), 200);
    }
    assert.equal(await status(gw, "/_gateway/metrics"), 401);
    // Unknown gateway paths are behind the admin auth too.
    assert.equal(await status(gw, "/_gateway/nothing"), 401);
    const res = await fetch(`${gw.url}/_gateway/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const text = await res.text();
    const requests = text.split("\n").filter((line) =>
      line.startsWith("gateway_requests_total{")
    );
    assert.deepEqual(requests, [
      'gateway_requests_total{route="users",method="GET",status="200"} 1',
      'gateway_requests_total{route="",method="GET",status="404"} 1',
    ]);
    for (
      const series of [
        'gateway_internal_requests_total{endpoint="health",status="200"} 3',
        'gateway_internal_requests_total{endpoint="metrics",status="401"} 1',
        'gateway_internal_requests_total{endpoint="unknown",status="401"} 1',
        'gateway_errors_total{route="",code="no_route"} 1',
      ]
    ) {
      assert.ok(text.includes(series), `missing: ${series}\n${text}`);
    }
    // The scrapes refused for want of a token are no traffic errors.
    assert.doesNotMatch(text, /^gateway_errors_total\{[^}]*unauthorized/m);
    // Only the unmatched 404 is in the unrouted latency, not the 5 internal requests.
    assert.ok(
      text.includes('gateway_request_duration_seconds_count{route=""} 1\n'),
    );
  });
});

Deno.test({
  name: "metrics: a live scrape passes promtool check metrics" +
    PROMTOOL_REASON,
  ignore: PROMTOOL === null,
  async fn() {
    await withGateway({ admin: { token: ADMIN } }, async (gw) => {
      assert.equal(await status(gw, "/users/1"), 200);
      assert.equal(await status(gw, "/nowhere"), 404);
      const res = await fetch(`${gw.url}/_gateway/metrics`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const text = await res.text();
      const checked = await promtool(["check", "metrics"], text);
      assert.equal(checked.code, 0, checked.output);
      assert.equal(checked.output.trim(), "", checked.output);
    });
  },
});

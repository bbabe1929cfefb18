/**
 * Observability and admin on the real gateway: Prometheus metrics, the
 * breakers API with force-open/reset, the admin token, and the live status
 * page in Debian's headless Chromium (playwright-core) following a breaker
 * as it opens.
 */
import assert from "node:assert/strict";
import { launchChromium } from "../_fixtures/chromium.ts";
import { Origin } from "../_fixtures/origin.ts";
import { startTestGateway } from "../_fixtures/gateway.ts";

const TOKEN = "admin-token-for-tests-0123456789";

function adminConfig(originUrl: string) {
  return {
    admin: { token: TOKEN },
    routes: [
      {
        name: "users",
        path: "/users/*",
        upstreams: [`${originUrl}/echo`],
        stripPrefix: "/users",
      },
      {
        name: "failing",
        path: "/failing/*",
        upstreams: [`${originUrl}/status`],
        stripPrefix: "/failing",
        policy: {
          retry: { retries: 0 },
          breaker: { size: 4, minCalls: 4, openMs: 60_000 },
        },
      },
    ],
  };
}

const bearer = { authorization: `Bearer ${TOKEN}` };

Deno.test("metrics expose the contract's series with bounded labels", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(adminConfig(origin.url));
  for (const path of ["/users/1", "/failing/503", "/nowhere"]) {
    const res = await fetch(`${gw.url}${path}`);
    await res.body?.cancel();
  }
  const res = await fetch(`${gw.url}/_gateway/metrics`, { headers: bearer });
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get("content-type") ?? "",
    /^text\/plain; version=0.0.4/,
  );
  const text = await res.text();
  for (
    const series of [
      'gateway_requests_total{route="users",method="GET",status="200"} 1',
      'gateway_requests_total{route="failing",method="GET",status="503"} 1',
      'gateway_request_duration_seconds_bucket{route="users",le="+Inf"} 1',
      'gateway_breaker_state{route="failing",upstream="' + origin.url +
      '/status"} 0',
      'gateway_inflight{route="users"} 0',
      "# TYPE gateway_retries_total counter",
      "# TYPE gateway_bulkhead_rejections_total counter",
    ]
  ) {
    assert.ok(text.includes(series), `missing: ${series}`);
  }
});

Deno.test("admin endpoints need the token; force-open and reset go through the breakers", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(adminConfig(origin.url));
  const anonymous = await fetch(`${gw.url}/_gateway/breakers`);
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, "unauthorized");
  const wrong = await fetch(`${gw.url}/_gateway/breakers`, {
    headers: { authorization: "Bearer nope" },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();

  const list = await fetch(`${gw.url}/_gateway/breakers`, {
    headers: bearer,
  });
  const { breakers, store } = await list.json();
  assert.equal(breakers.length, 2);
  assert.equal(store.healthy, true);

  const upstream = `${origin.url}/echo`;
  const query = `route=users&upstream=${encodeURIComponent(upstream)}`;
  const opened = await fetch(`${gw.url}/_gateway/breakers/open?${query}`, {
    method: "POST",
    headers: bearer,
  });
  assert.equal((await opened.json()).breaker.state, "open");
  const refused = await fetch(`${gw.url}/users/1`);
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).code, "circuit_open");
  assert.equal(origin.hits("/echo"), 0);

  const closed = await fetch(`${gw.url}/_gateway/breakers/close?${query}`, {
    method: "POST",
    headers: bearer,
  });
  const held = (await closed.json()).breaker;
  assert.equal(held.state, "closed");
  assert.equal(held.forced, true);

  const reset = await fetch(`${gw.url}/_gateway/breakers/reset?${query}`, {
    method: "POST",
    headers: bearer,
  });
  assert.equal((await reset.json()).breaker.state, "closed");
  const ok = await fetch(`${gw.url}/users/1`);
  assert.equal(ok.status, 200);
  await ok.body?.cancel();

  const unknown = await fetch(
    `${gw.url}/_gateway/breakers/open?route=users&upstream=http://elsewhere`,
    { method: "POST", headers: bearer },
  );
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("without an admin token the admin endpoints do not exist", async () => {
  await using origin = await Origin.start();
  const config = adminConfig(origin.url) as Record<string, unknown>;
  delete config.admin;
  await using gw = await startTestGateway(config);
  const res = await fetch(`${gw.url}/_gateway/breakers`, { headers: bearer });
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

Deno.test("status page: sign in, see the routes, watch a breaker open (headless Chromium)", async () => {
  const origin = await Origin.start();
  const gw = await startTestGateway(adminConfig(origin.url));
  const browser = await launchChromium();
  const shots = await Deno.makeTempDir({ prefix: "status-page-" });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));

    const login = await page.goto(`${gw.url}/_gateway/status`);
    assert.equal(login?.status(), 401);
    await page.fill("#token", TOKEN);
    await Promise.all([
      page.waitForURL("**/_gateway/status"),
      page.click("button[type=submit]"),
    ]);
    await page.waitForSelector('[data-route="users"]');
    await page.waitForSelector('[data-route="failing"]');

    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/failing/500`);
      await res.body?.cancel();
    }
    const breaker = `[data-breaker="failing|${origin.url}/status"]`;
    await page.waitForSelector(`${breaker}[data-state="open"]`, {
      timeout: 10_000,
    });
    const path = Deno.env.get("STATUS_SCREENSHOT") ?? `${shots}/status.png`;
    await page.screenshot({ path, fullPage: true });
    const png = await Deno.readFile(path);
    assert.ok(png.length > 1000);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await Deno.remove(shots, { recursive: true });
    await gw.close();
    await origin.close();
  }
});

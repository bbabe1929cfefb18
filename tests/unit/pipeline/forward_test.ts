/**
 * The forwarding pipeline in process (`createGateway` with an injected
 * fetch, clock and randomness): retries, timeouts, deadlines and redirects
 * decided exactly, without sockets or real time.
 */
import assert from "node:assert/strict";
import { routeConfig } from "../../_fixtures/gateway.ts";
import { inProcessGateway, never } from "../../_fixtures/in_process.ts";

const A = "http://a.test:8080/v1";
const B = "http://b.test:8080/v1";

function hosts(sent: { url: string }[]): string[] {
  return sent.map((request) => new URL(request.url).host);
}

Deno.test("a retryable status goes to another upstream and its answer goes back", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B]),
    ({ url }) =>
      new Response(url.startsWith(A) ? "busy" : "ok", {
        status: url.startsWith(A) ? 503 : 200,
      }),
  );
  const response = await gw.request("/api/users/7?x=1");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "ok");
  assert.equal(response.headers.get("x-gateway-attempts"), "2");
  assert.deepEqual(gw.sent.map((r) => r.url), [
    `${A}/users/7?x=1`,
    `${B}/users/7?x=1`,
  ]);
});

Deno.test("a Retry-After above the cap sends the response back as is", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B]),
    () =>
      new Response("later", { status: 503, headers: { "retry-after": "60" } }),
  );
  const response = await gw.request("/api/x");
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "60");
  assert.equal(await response.text(), "later");
  assert.equal(gw.sent.length, 1);
});

Deno.test("a Retry-After under the cap is waited out on the clock", async () => {
  let calls = 0;
  await using gw = inProcessGateway(
    routeConfig([A]),
    () =>
      ++calls === 1
        ? new Response(null, { status: 503, headers: { "retry-after": "2" } })
        : new Response("ok"),
  );
  const started = gw.clock.now();
  const response = await gw.request("/api/x", undefined, 100);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.ok(gw.clock.now() - started >= 2_000);
});

Deno.test("a POST without Idempotency-Key is not retried after a network error", async () => {
  await using gw = inProcessGateway(routeConfig([A, B]), () => {
    throw new TypeError("connection refused");
  });
  const response = await gw.request("/api/x", { method: "POST", body: "b" });
  assert.equal(response.status, 502);
  assert.equal((await response.json()).code, "upstream_unavailable");
  assert.equal(gw.sent.length, 1);
});

Deno.test("with Idempotency-Key the POST is replayed to the other upstream", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B]),
    ({ url }) => {
      if (url.startsWith(A)) throw new TypeError("connection refused");
      return new Response("ok");
    },
  );
  const response = await gw.request("/api/x", {
    method: "POST",
    body: "payload",
    headers: { "idempotency-key": "k1" },
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.deepEqual(hosts(gw.sent), ["a.test:8080", "b.test:8080"]);
});

Deno.test("a headers timeout fails the attempt over, and is counted once per attempt", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B], {
      policy: { timeouts: { headersMs: 1_000 } },
    }),
    ({ url }) => url.startsWith(A) ? never() : new Response("ok"),
  );
  const response = await gw.request("/api/x", undefined, 250);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.deepEqual(hosts(gw.sent), ["a.test:8080", "b.test:8080"]);
  assert.match(
    gw.gateway.metrics.render(gw.gateway.board.views()),
    /gateway_timeouts_total\{route="test",kind="headers"\} 1\n/,
  );
});

Deno.test("the total deadline ends the exchange with 504 and TT", async () => {
  const entries: { flags: readonly string[] }[] = [];
  await using gw = inProcessGateway(
    routeConfig([A], {
      policy: { timeouts: { headersMs: 3_000, totalMs: 3_000 } },
    }),
    never,
    { onExchange: (entry) => entries.push(entry) },
  );
  const response = await gw.request("/api/x", undefined, 500);
  assert.equal(response.status, 504);
  assert.equal((await response.json()).code, "upstream_timeout");
  assert.equal(gw.sent.length, 1);
  assert.deepEqual(entries.map((e) => e.flags), [["TT"]]);
});

Deno.test("a redirect into any upstream of the route points at the gateway", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B]),
    ({ url }) =>
      url.endsWith("/created")
        ? new Response(null, { status: 201, headers: { location: `${B}/n/1` } })
        : new Response(null, {
          status: 302,
          headers: { location: `${B}/n/1` },
        }),
  );
  const redirect = await gw.request("/api/old");
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get("location"), "http://gw.test/api/n/1");
  const created = await gw.request("/api/created");
  assert.equal(created.headers.get("location"), `${B}/n/1`);
});

Deno.test("every upstream's breaker open: 503 circuit_open without an attempt", async () => {
  await using gw = inProcessGateway(
    routeConfig([A, B]),
    () => new Response("ok"),
  );
  await gw.gateway.board.force("test", A, "open");
  await gw.gateway.board.force("test", B, "open");
  const response = await gw.request("/api/x");
  assert.equal(response.status, 503);
  assert.equal((await response.json()).code, "circuit_open");
  assert.ok(Number(response.headers.get("retry-after")) > 0);
  assert.equal(gw.sent.length, 0);
});

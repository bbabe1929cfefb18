import assert from "node:assert/strict";
import { Hono } from "hono";
import { createGateway, isDeliberateEnd, parseConfig } from "../../mod.ts";
import { Origin } from "../_fixtures/origin.ts";
import { routeConfig } from "../_fixtures/gateway.ts";

Deno.test("embedding: mounted in another Hono app, the gateway serves its routes and the app the rest", async () => {
  await using origin = await Origin.start();
  const parsed = parseConfig(
    JSON.stringify({
      routes: [{
        name: "users",
        path: "/api/*",
        upstreams: [origin.url],
        stripPrefix: "/api",
      }],
    }),
    () => undefined,
  );
  assert.ok(parsed.ok);
  const logs: string[] = [];
  const gateway = createGateway({
    config: parsed.config,
    logSink: (line) => logs.push(line),
  });
  const app = new Hono();
  app.get("/", (c) => c.text("the host app"));
  app.all(
    "/api/*",
    (c) => gateway.fetch(c.req.raw, { address: "203.0.113.9" }),
  );
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    app.fetch,
  );
  const base = `http://127.0.0.1:${server.addr.port}`;

  const home = await fetch(`${base}/`);
  assert.equal(await home.text(), "the host app");

  const proxied = await fetch(`${base}/api/echo?x=1`);
  assert.equal(proxied.status, 200);
  const echoed = await proxied.json();
  assert.equal(echoed.path, "/echo");
  assert.equal(echoed.search, "?x=1");
  // The gateway's own work happened: request id, forwarding headers.
  assert.match(proxied.headers.get("x-request-id") ?? "", /\S/);
  assert.equal(
    origin.requests[0].headers.get("x-forwarded-for"),
    "203.0.113.9",
  );

  // A path only the host app could own, answered by the host app (404).
  const elsewhere = await fetch(`${base}/other`);
  await elsewhere.body?.cancel();
  assert.equal(elsewhere.status, 404);
  assert.notEqual(
    elsewhere.headers.get("content-type"),
    "application/problem+json",
  );

  const access = logs.map((line) => JSON.parse(line)).filter((line) =>
    line.msg === "access"
  );
  assert.deepEqual(access.map((line) => [line.route, line.status]), [[
    "users",
    200,
  ]]);
  await gateway.close();
});

Deno.test("embedding: Deno.serve's onError sees a stream the gateway cut, and isDeliberateEnd says it was on purpose", async () => {
  await using origin = await Origin.start();
  const parsed = parseConfig(
    JSON.stringify(routeConfig([origin.url], {
      policy: { timeouts: { idleMs: 200 } },
    })),
    () => undefined,
  );
  assert.ok(parsed.ok);
  const gateway = createGateway({ config: parsed.config, logSink: () => {} });
  let report!: (error: unknown) => void;
  const reported = new Promise<unknown>((resolve) => report = resolve);
  await using server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError(error) {
      report(error);
      return new Response(null, { status: 500 });
    },
  }, (request) => gateway.fetch(request));
  const response = await fetch(
    `http://127.0.0.1:${server.addr.port}/api/stall?chunks=1`,
  );
  assert.equal(response.status, 200);
  // The idle deadline cuts the body: the client sees a broken stream.
  await assert.rejects(response.text());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const error = await Promise.race([
    reported,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("onError not called")), 5000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(isDeliberateEnd(error), true);
  assert.equal(isDeliberateEnd(new TypeError("a bug")), false);
  await gateway.close();
});

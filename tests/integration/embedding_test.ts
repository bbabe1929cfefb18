import assert from "node:assert/strict";
import { Hono } from "hono";
import { createGateway, parseConfig } from "../../mod.ts";
import { Origin } from "../_fixtures/origin.ts";

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

/**
 * The gateway as an HTTP intermediary, over real loopback sockets: routing,
 * header hygiene in both directions, request ids and trace context, bytes
 * passed through unchanged, and problem+json for what the gateway answers
 * itself.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { header, rawRequest } from "../_fixtures/raw_client.ts";
import { RawOrigin, withHeaders } from "../_fixtures/raw_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

interface Echo {
  method: string;
  path: string;
  search: string;
  headers: [string, string][];
  body: string;
}

function echoHeader(echo: Echo, name: string): string | undefined {
  return echo.headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

Deno.test("routes with stripPrefix and the upstream base path, query kept", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([`${origin.url}/echo/base`]),
  );
  const res = await fetch(`${gw.url}/api/users/7?x=1&y=%20z`);
  const echo: Echo = await res.json();
  assert.equal(res.status, 200);
  assert.equal(echo.path, "/echo/base/users/7");
  assert.equal(echo.search, "?x=1&y=%20z");
  assert.equal(echoHeader(echo, "host"), `127.0.0.1:${origin.port}`);
  assert.equal(res.headers.get("x-gateway-attempts"), "1");
});

Deno.test("404 no_route and 405 method_not_allowed are problem+json with a request id", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([`${origin.url}/echo`], { methods: ["GET"] }),
  );
  const missing = await fetch(`${gw.url}/nowhere`);
  assert.equal(missing.status, 404);
  assert.equal(
    missing.headers.get("content-type"),
    "application/problem+json",
  );
  const problem = await missing.json();
  assert.equal(problem.code, "no_route");
  assert.equal(problem.status, 404);
  assert.equal(problem.requestId, missing.headers.get("x-request-id"));
  assert.ok(problem.type && problem.title && problem.detail);
  // Responses the gateway makes itself say what they are and forbid the rest.
  assert.equal(missing.headers.get("x-content-type-options"), "nosniff");
  assert.equal(missing.headers.get("cache-control"), "no-store");
  assert.match(
    missing.headers.get("content-security-policy") ?? "",
    /default-src 'none'/,
  );
  assert.equal(missing.headers.get("server"), null);

  const wrong = await fetch(`${gw.url}/api/x`, { method: "DELETE" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET");
  assert.equal((await wrong.json()).code, "method_not_allowed");
  assert.equal(origin.requests.length, 0);
});

Deno.test("hop-by-hop request headers are dropped; X-Forwarded-* set; ids passed", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([`${origin.url}/echo`]));
  const res = await rawRequest(
    gw.port,
    "GET /api/h HTTP/1.1\r\n" +
      "Host: edge.example\r\n" +
      "Connection: keep-alive, X-Secret\r\n" +
      "X-Secret: s\r\n" +
      "Keep-Alive: timeout=5\r\n" +
      "Proxy-Connection: keep-alive\r\n" +
      "TE: trailers\r\n" +
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
      "Upgrade: h2c\r\n" +
      "X-Forwarded-For: 203.0.113.9\r\n" +
      "X-Real-IP: 203.0.113.9\r\n" +
      "X-Request-Id: client-id-1\r\n" +
      "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n" +
      "X-End-To-End: kept\r\n" +
      "Connection: close\r\n\r\n",
  );
  assert.equal(res.status, 200);
  const echo: Echo = JSON.parse(new TextDecoder().decode(res.body));
  for (
    const name of [
      "connection",
      "x-secret",
      "keep-alive",
      "proxy-connection",
      "te",
      "proxy-authorization",
      "upgrade",
    ]
  ) {
    assert.equal(echoHeader(echo, name), undefined, `${name} forwarded`);
  }
  assert.equal(echoHeader(echo, "x-end-to-end"), "kept");
  // The peer is not a trusted proxy, so its X-Forwarded-For is replaced.
  assert.equal(echoHeader(echo, "x-forwarded-for"), "127.0.0.1");
  assert.equal(echoHeader(echo, "x-real-ip"), undefined);
  assert.equal(echoHeader(echo, "x-forwarded-proto"), "http");
  assert.equal(echoHeader(echo, "x-forwarded-host"), "edge.example");
  assert.equal(echoHeader(echo, "x-request-id"), "client-id-1");
  assert.equal(header(res, "x-request-id"), "client-id-1");
  const traceparent = echoHeader(echo, "traceparent") ?? "";
  assert.match(
    traceparent,
    /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/,
  );
  assert.notEqual(traceparent.split("-")[2], "00f067aa0ba902b7");
});

Deno.test("X-Forwarded-For is appended behind a trusted proxy", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway({
    ...routeConfig([`${origin.url}/echo`]),
    trustedProxies: ["127.0.0.0/8"],
  });
  const res = await fetch(`${gw.url}/api/x`, {
    headers: { "x-forwarded-for": "203.0.113.9", "x-request-id": "bad id!" },
  });
  const echo: Echo = await res.json();
  assert.equal(echoHeader(echo, "x-forwarded-for"), "203.0.113.9, 127.0.0.1");
  const id = res.headers.get("x-request-id") ?? "";
  assert.notEqual(id, "bad id!");
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(echoHeader(echo, "x-request-id"), id);
  assert.match(echoHeader(echo, "traceparent") ?? "", /^00-[0-9a-f]{32}-/);
});

Deno.test("hop-by-hop response headers are dropped, end-to-end ones kept", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const res = await rawRequest(
    gw.port,
    "GET /api/hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(res.status, 200);
  for (
    const name of [
      "x-secret",
      "keep-alive",
      "proxy-authenticate",
      "trailer",
      "upgrade",
    ]
  ) {
    assert.equal(header(res, name), undefined, `${name} passed back`);
  }
  assert.equal(header(res, "x-end-to-end"), "kept");
});

Deno.test("gzip bytes pass through unchanged with their own length", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const res = await rawRequest(
    gw.port,
    "GET /api/gzip HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n",
  );
  assert.equal(res.status, 200);
  assert.equal(header(res, "content-encoding"), "gzip");
  assert.equal(
    header(res, "content-length"),
    String(origin.gzipBytes.length),
  );
  assert.deepEqual(res.body, origin.gzipBytes);
  assert.ok(res.complete);
  // The gateway asked the upstream for identity: Deno's fetch then keeps bytes as sent.
  assert.equal(origin.requests[0].headers.get("accept-encoding"), "identity");
});

Deno.test("a gzip request body reaches the upstream byte for byte", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const res = await fetch(`${gw.url}/api/upload`, {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: new Uint8Array(origin.gzipBytes),
  });
  const { bytes } = await res.json();
  assert.equal(bytes, origin.gzipBytes.length);
  assert.equal(origin.requests[0].headers.get("content-encoding"), "gzip");
});

Deno.test("exact upstream header bytes: duplicates and Set-Cookie survive", async () => {
  await using raw = RawOrigin.start(withHeaders(
    [
      "Set-Cookie: a=1; Path=/",
      "Set-Cookie: b=2; Path=/",
      "Cache-Control: no-cache",
      "Connection: X-Drop",
      "X-Drop: 1",
    ],
    "hello",
  ));
  await using gw = await startTestGateway(routeConfig([raw.url]));
  const res = await rawRequest(
    gw.port,
    "GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(new TextDecoder().decode(res.body), "hello");
  const cookies = res.headers.filter(([n]) => n.toLowerCase() === "set-cookie");
  assert.deepEqual(cookies.map(([, v]) => v), ["a=1; Path=/", "b=2; Path=/"]);
  assert.equal(header(res, "x-drop"), undefined);
  assert.equal(header(res, "cache-control"), "no-cache");
});

Deno.test("502 upstream_unavailable when nothing listens; no address leaks", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using gw = await startTestGateway(
    routeConfig([`http://127.0.0.1:${deadPort}/v1`], {
      policy: { retry: { retries: 0 } },
    }),
  );
  const res = await fetch(`${gw.url}/api/x`);
  assert.equal(res.status, 502);
  const text = await res.text();
  const problem = JSON.parse(text);
  assert.equal(problem.code, "upstream_unavailable");
  assert.ok(!text.includes(String(deadPort)), "upstream port leaked");
  assert.ok(!text.includes("127.0.0.1"), "upstream address leaked");
  const line = await gw.waitForAccessLog((l) => l.status === 502);
  assert.equal(line.flags, "UF");
  assert.equal(line.route, "test");
});

Deno.test("path tricks never leave the upstream base path", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([`${origin.url}/echo/base`]),
  );
  const targets = [
    "/api/%2e%2e/secret",
    "/api/..%2fsecret",
    "/api/%2E%2E%2Fsecret",
    "/api/a/..%5c..%5csecret",
    "/api/%252e%252e/secret",
  ];
  for (const target of targets) {
    const res = await rawRequest(
      gw.port,
      `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    if (res.status === 200) {
      const echo: Echo = JSON.parse(new TextDecoder().decode(res.body));
      assert.ok(
        echo.path.startsWith("/echo/base/"),
        `${target} reached ${echo.path}`,
      );
    } else {
      assert.ok(
        res.status >= 400 && res.status < 500,
        `${target}: ${res.status}`,
      );
    }
  }
  // Absolute-form target and a foreign Host cannot redirect the gateway.
  const absolute = await rawRequest(
    gw.port,
    `GET http://169.254.169.254/api/x HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(absolute.status, 200);
  const echo: Echo = JSON.parse(new TextDecoder().decode(absolute.body));
  assert.equal(echo.path, "/echo/base/x");
  assert.equal(echoHeader(echo, "host"), `127.0.0.1:${origin.port}`);
  for (const request of origin.requests) {
    assert.ok(request.path.startsWith("/echo/base/"), request.path);
  }
});

Deno.test("redirects into the upstream are rewritten to the gateway's address", async () => {
  let upstreamUrl = "";
  await using raw = RawOrigin.start((conn) =>
    withHeaders(
      [`Location: ${upstreamUrl}/v1/users/8?x=1`],
      "",
      "302 Found",
    )(conn)
  );
  upstreamUrl = raw.url;
  await using gw = await startTestGateway(routeConfig([`${raw.url}/v1`]));
  const res = await fetch(`${gw.url}/api/users/7`, { redirect: "manual" });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), `${gw.url}/api/users/8?x=1`);
  await res.body?.cancel();
  await using other = RawOrigin.start(
    withHeaders(["Location: https://login.example/next"], "", "302 Found"),
  );
  await using gw2 = await startTestGateway(routeConfig([other.url]));
  const offsite = await fetch(`${gw2.url}/api/x`, { redirect: "manual" });
  assert.equal(offsite.headers.get("location"), "https://login.example/next");
  await offsite.body?.cancel();
});

Deno.test("serverTiming adds the upstream time; upstream Server headers are dropped", async () => {
  await using raw = RawOrigin.start(
    withHeaders(["Server: secret-app/1.2", "X-Powered-By: PHP/5"], "ok"),
  );
  await using gw = await startTestGateway({
    ...routeConfig([raw.url]),
    serverTiming: true,
  });
  const res = await fetch(`${gw.url}/api/x`);
  assert.match(res.headers.get("server-timing") ?? "", /^upstream;dur=\d+/);
  assert.equal(res.headers.get("server"), null);
  assert.equal(res.headers.get("x-powered-by"), null);
  assert.equal(await res.text(), "ok");
});

/**
 * The gateway as an HTTP intermediary (RFC 9110 §7.6, RFC 9112 §6):
 * message framing it must not pass on, responses it must not relay, and
 * loop protection with `Via`. See docs/intermediary.md for the full table.
 */
import assert from "node:assert/strict";
import { header, rawRequest } from "../_fixtures/raw_client.ts";
import { RawOrigin, withHeaders } from "../_fixtures/raw_origin.ts";
import { Origin } from "../_fixtures/origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

const GET = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;

Deno.test("Content-Length beside Transfer-Encoding: chunked is dropped; the whole body arrives", async () => {
  const body = "0123456789abcdef".repeat(8); // 128 bytes, more than the 5 declared
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const raw = RawOrigin.start(withHeaders(
    [
      "Content-Type: text/plain",
      "Content-Length: 5",
      "Transfer-Encoding: chunked",
    ],
    chunked,
  ));
  const gw = await startTestGateway(routeConfig([raw.url]));
  try {
    const res = await rawRequest(gw.port, GET("/api/x"));
    assert.equal(res.status, 200);
    assert.ok(res.complete, "the response ended properly");
    assert.equal(new TextDecoder().decode(res.body), body);
    assert.notEqual(header(res, "content-length"), "5");
  } finally {
    await gw.close();
    await raw.close();
  }
});

Deno.test("an unsolicited 101 from the upstream is a 502 bad response, not relayed", async () => {
  const raw = RawOrigin.start(withHeaders(
    ["Connection: upgrade", "Upgrade: websocket"],
    "",
    "101 Switching Protocols",
  ));
  const gw = await startTestGateway(
    routeConfig([raw.url], { policy: { retry: { retries: 0 } } }),
  );
  try {
    const res = await rawRequest(gw.port, GET("/api/x"));
    assert.equal(res.status, 502);
    assert.equal(header(res, "content-type"), "application/problem+json");
    const problem = JSON.parse(new TextDecoder().decode(res.body));
    assert.equal(problem.code, "upstream_unavailable");
    assert.equal(header(res, "upgrade"), undefined);
  } finally {
    await gw.close();
    await raw.close();
  }
});

Deno.test("Via: the gateway appends its pseudonym to the request it forwards", async () => {
  const origin = await Origin.start();
  const gw = await startTestGateway(routeConfig([origin.url]));
  try {
    const res = await rawRequest(
      gw.port,
      GET("/api/echo", "Via: 1.0 corporate-proxy\r\n"),
    );
    assert.equal(res.status, 200);
    assert.equal(
      origin.requests[0].headers.get("via"),
      "1.0 corporate-proxy, 1.1 edge-gateway",
    );
  } finally {
    await gw.close();
    await origin.close();
  }
});

Deno.test("a loop back into the gateway is refused with 508 loop_detected, not recursed", async () => {
  // The route's upstream is the gateway itself: known only once it listens,
  // so the test starts it on a port taken first.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const gw = await startTestGateway(
    {
      ...routeConfig([`http://127.0.0.1:${port}/api`], {
        policy: { retry: { retries: 0 } },
      }),
      via: "gw-test-1",
    },
    { port },
  );
  try {
    const res = await rawRequest(gw.port, GET("/api/x"));
    // The first pass forwards once; the second finds its own pseudonym.
    assert.equal(res.status, 508);
    assert.equal(header(res, "content-type"), "application/problem+json");
    const problem = JSON.parse(new TextDecoder().decode(res.body));
    assert.equal(problem.code, "loop_detected");
    const routed = gw.accessLogs().filter((line) => line.route === "test");
    assert.equal(routed.length, 2, "one forward, one refusal");
  } finally {
    await gw.close();
  }
});

Deno.test("another gateway's pseudonym in Via is not a loop", async () => {
  const origin = await Origin.start();
  const gw = await startTestGateway({
    ...routeConfig([origin.url]),
    via: "gw-b",
  });
  try {
    const res = await rawRequest(
      gw.port,
      GET("/api/echo", "Via: 1.1 gw-a, 1.1 edge-gateway-b\r\n"),
    );
    assert.equal(res.status, 200);
    assert.equal(
      origin.requests[0].headers.get("via"),
      "1.1 gw-a, 1.1 edge-gateway-b, 1.1 gw-b",
    );
  } finally {
    await gw.close();
    await origin.close();
  }
});

Deno.test("Max-Forwards on OPTIONS: 0 is answered by the gateway, more is decremented", async () => {
  const origin = await Origin.start();
  const gw = await startTestGateway(
    routeConfig([origin.url], { methods: ["GET", "OPTIONS"] }),
  );
  try {
    const last = await rawRequest(
      gw.port,
      "OPTIONS /api/echo HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n",
    );
    assert.equal(last.status, 200);
    assert.equal(header(last, "allow"), "GET, OPTIONS");
    assert.equal(origin.requests.length, 0, "forwarded at Max-Forwards 0");
    const res = await rawRequest(
      gw.port,
      "OPTIONS /api/echo HTTP/1.1\r\nHost: x\r\nMax-Forwards: 5\r\nConnection: close\r\n\r\n",
    );
    assert.equal(res.status, 200);
    assert.equal(origin.requests[0].headers.get("max-forwards"), "4");
  } finally {
    await gw.close();
    await origin.close();
  }
});

Deno.test("an upstream response with an invalid Content-Length is a 502, not relayed", async () => {
  const raw = RawOrigin.start(withHeaders(
    ["Content-Type: text/plain", "Content-Length: 5x"],
    "hello",
  ));
  const gw = await startTestGateway(
    routeConfig([raw.url], { policy: { retry: { retries: 0 } } }),
  );
  try {
    const res = await rawRequest(gw.port, GET("/api/x"));
    assert.equal(res.status, 502);
    assert.equal(header(res, "content-type"), "application/problem+json");
  } finally {
    await gw.close();
    await raw.close();
  }
});

Deno.test("a close-delimited upstream body is re-framed: the client sees a proper end", async () => {
  const raw = RawOrigin.start(async (conn) => {
    await conn.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    await conn.write("until the upstream closes");
    conn.close();
  });
  const gw = await startTestGateway(routeConfig([raw.url]));
  try {
    const res = await rawRequest(gw.port, GET("/api/x"));
    assert.equal(res.status, 200);
    assert.ok(res.complete);
    assert.equal(
      new TextDecoder().decode(res.body),
      "until the upstream closes",
    );
  } finally {
    await gw.close();
    await raw.close();
  }
});

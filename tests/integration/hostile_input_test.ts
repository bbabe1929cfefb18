/**
 * Hostile input over raw sockets against the in-process gateway: request
 * smuggling shapes, malformed framing and headers, oversized heads, odd
 * methods, Upgrade attempts, encoded path tricks, absolute-form targets and
 * Host games.
 *
 * Every case checks three things: the answer (and which layer gave it: Deno's
 * HTTP server answers a bare 400 with no body and no `x-request-id`; the
 * gateway answers problem+json with one), that no unintended upstream was
 * contacted (a decoy origin that no route names records every request, and
 * the real origin's log is compared after the gateway has drained), and that
 * the gateway still serves a normal request afterwards.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { header, rawRequest } from "../_fixtures/raw_client.ts";
import { startTestGateway, type TestGateway } from "../_fixtures/gateway.ts";

const decoder = new TextDecoder();
const HOST = "Host: gw.test\r\n";
const CLOSE = "Connection: close\r\n";

/** Who answers a case, and how. */
type Expected =
  | { runtime: 400 }
  /** Body framing broken after the head was accepted: the runtime drops the connection. */
  | { closedOr4xx: true }
  | { gateway: number; code: string }
  /** Forwarded, but only to the configured upstream, at this path. */
  | { forwardedTo: string };

interface Case {
  name: string;
  request: string;
  expect: Expected;
}

interface Answer {
  status: number | "closed";
  body: string;
  headers: [string, string][];
}

interface Harness {
  origin: Origin;
  decoy: Origin;
  gw: TestGateway;
  /** `host:port` of the decoy, for targets and Host headers. */
  decoyAuthority: string;
}

/**
 * A gateway with a strict route (listed methods, body limit) and an open one
 * (all methods), both on `origin`; `decoy` is named by no route.
 */
async function withGateway(run: (h: Harness) => Promise<void>): Promise<void> {
  const origin = await Origin.start();
  const decoy = await Origin.start();
  const gw = await startTestGateway({
    routes: [
      {
        name: "strict",
        path: "/api/*",
        methods: ["GET", "POST", "PUT", "DELETE"],
        upstreams: [`${origin.url}/echo/base`],
        stripPrefix: "/api",
        policy: { maxBodyBytes: 1024 },
      },
      {
        name: "open",
        path: "/open/*",
        upstreams: [`${origin.url}/echo/open`],
        stripPrefix: "/open",
      },
    ],
  });
  let closed = false;
  try {
    await run({ origin, decoy, gw, decoyAuthority: `127.0.0.1:${decoy.port}` });
    // Drained: any upstream request a case caused has reached the origins.
    await gw.close();
    closed = true;
    assert.deepEqual(decoy.requests.map((r) => r.path), [], "decoy contacted");
  } finally {
    if (!closed) await gw.close();
    await origin.close();
    await decoy.close();
  }
}

async function send(gw: TestGateway, request: string): Promise<Answer> {
  try {
    const res = await rawRequest(gw.port, request, { timeoutMs: 5000 });
    return {
      status: res.status,
      body: decoder.decode(res.body),
      headers: res.headers,
    };
  } catch (error) {
    if (/connection closed first/.test(String(error))) {
      return { status: "closed", body: "", headers: [] };
    }
    throw error;
  }
}

/** A plain request through the gateway still works. */
async function assertStillServing(h: Harness, after: string): Promise<void> {
  const res = await fetch(`${h.gw.url}/api/still-serving`);
  const echo = await res.json();
  assert.equal(res.status, 200, `not serving after ${after}`);
  assert.equal(echo.path, "/echo/base/still-serving");
}

/** Runs each case, checks its answer and that the gateway still serves. */
async function runCases(h: Harness, cases: Case[]): Promise<void> {
  for (const { name, request, expect } of cases) {
    const before = h.origin.requests.length;
    const answer = await send(h.gw, request);
    const label = `${name}: got ${answer.status} ${answer.body.slice(0, 120)}`;
    if ("runtime" in expect) {
      assert.equal(answer.status, 400, label);
      assert.equal(answer.body, "", label);
      assert.equal(header(answer, "x-request-id"), undefined, label);
    } else if ("closedOr4xx" in expect) {
      assert.ok(
        answer.status === "closed" ||
          (answer.status >= 400 && answer.status < 500),
        label,
      );
    } else if ("gateway" in expect) {
      assert.equal(answer.status, expect.gateway, label);
      assert.equal(
        header(answer, "content-type"),
        "application/problem+json",
        label,
      );
      assert.equal(JSON.parse(answer.body).code, expect.code, label);
      assert.ok(header(answer, "x-request-id"), label);
    } else {
      assert.equal(answer.status, 200, label);
      assert.equal(JSON.parse(answer.body).path, expect.forwardedTo, label);
    }
    if (!("forwardedTo" in expect) && !("closedOr4xx" in expect)) {
      assert.equal(
        h.origin.requests.length,
        before,
        `${name} reached the origin`,
      );
    }
    await assertStillServing(h, name);
  }
}

/** Every path the origin saw, minus the still-serving probes. */
function pathsSeen(origin: Origin): string[] {
  return origin.requests.map((r) => r.path).filter((p) =>
    p !== "/echo/base/still-serving"
  );
}

Deno.test("request smuggling shapes are refused by the runtime before the gateway", async () => {
  await withGateway(async (h) => {
    const smuggled = `GET /api/smuggled HTTP/1.1\r\n${HOST}\r\n`;
    const post = `POST /api/x HTTP/1.1\r\n${HOST}`;
    await runCases(h, [
      {
        name: "CL.TE",
        request:
          `${post}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
        expect: { runtime: 400 },
      },
      {
        name: "TE.CL",
        request:
          `${post}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${
            smuggled.length.toString(16)
          }\r\n${smuggled}\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "TE with an unknown coding",
        request: `${post}Transfer-Encoding: xchunked\r\n${CLOSE}\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "TE chunked not last",
        request:
          `${post}Transfer-Encoding: chunked, identity\r\n${CLOSE}\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "TE with space before the colon",
        request: `${post}Transfer-Encoding : chunked\r\n${CLOSE}\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "TE twice",
        request:
          `${post}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n${CLOSE}\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "TE on HTTP/1.0",
        request:
          `POST /api/x HTTP/1.0\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "two different Content-Lengths",
        request:
          `${post}Content-Length: 5\r\nContent-Length: 6\r\n${CLOSE}\r\nhello!`,
        expect: { runtime: 400 },
      },
      {
        name: "Content-Length list",
        request: `${post}Content-Length: 5, 6\r\n${CLOSE}\r\nhello!`,
        expect: { runtime: 400 },
      },
      ...["-1", "+5", "abc", "0x5", "99999999999999999999999"].map((value) => ({
        name: `Content-Length: ${value}`,
        request: `${post}Content-Length: ${value}\r\n${CLOSE}\r\nhello`,
        expect: { runtime: 400 } as const,
      })),
      {
        name: "chunk size not hex",
        request:
          `${post}Transfer-Encoding: chunked\r\n${CLOSE}\r\nzz\r\nhello\r\n0\r\n\r\n`,
        expect: { closedOr4xx: true },
      },
      {
        name: "chunk size overflowing 64 bits",
        request:
          `${post}Transfer-Encoding: chunked\r\n${CLOSE}\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n`,
        expect: { closedOr4xx: true },
      },
    ]);
    const seen = pathsSeen(h.origin);
    assert.ok(!seen.some((p) => p.includes("smuggled")), `smuggled: ${seen}`);
    // The broken chunked bodies never arrive whole anywhere.
    for (const request of h.origin.requests) {
      assert.notEqual(request.bodyBytes, 5, `${request.path} got a body`);
    }
  });
});

Deno.test("identical duplicate Content-Lengths are merged (RFC 9112 §6.3) and the body re-framed once", async () => {
  await withGateway(async (h) => {
    const answer = await send(
      h.gw,
      `POST /api/dup HTTP/1.1\r\n${HOST}Content-Length: 5\r\nContent-Length: 5\r\n${CLOSE}\r\nhello`,
    );
    assert.equal(answer.status, 200);
    const echo = JSON.parse(answer.body);
    assert.equal(echo.body, "hello");
    // One framing reaches the upstream: at most one Content-Length, of 5.
    const lengths = echo.headers.filter(([k]: string[]) =>
      k === "content-length"
    );
    assert.ok(lengths.length <= 1 && (lengths[0]?.[1] ?? "5") === "5");
    await assertStillServing(h, "duplicate Content-Length");
  });
});

Deno.test("a declared body over maxBodyBytes is refused by the gateway without contacting the upstream", async () => {
  await withGateway(async (h) => {
    await runCases(h, [{
      name: "Content-Length over the limit",
      request:
        `POST /api/x HTTP/1.1\r\n${HOST}Content-Length: 2048\r\n${CLOSE}\r\n${
          "a".repeat(2048)
        }`,
      expect: { gateway: 413, code: "payload_too_large" },
    }]);
  });
});

Deno.test("malformed heads are refused by the runtime", async () => {
  await withGateway(async (h) => {
    const get = `GET /api/x HTTP/1.1\r\n`;
    await runCases(h, [
      {
        name: "obs-fold",
        request: `${get}${HOST}X-Folded: a\r\n b\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "bare CR in a value",
        request: `${get}${HOST}X-Bad: a\rb\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "bare CR as line end",
        request: `GET /api/x HTTP/1.1\r${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "NUL in a value",
        request: `${get}${HOST}X-Bad: a\0b\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "space in a header name",
        request: `${get}${HOST}X Bad: a\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "two Host headers",
        request: `${get}${HOST}Host: ${h.decoyAuthority}\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "HTTP/1.2",
        request: `GET /api/x HTTP/1.2\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "HTTP/2.0 as text",
        request: `GET /api/x HTTP/2.0\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "empty target",
        request: `GET  HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "authority-form GET",
        request: `GET ${h.decoyAuthority} HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
    ]);
  });
});

Deno.test("oversized heads are refused by the runtime", async () => {
  await withGateway(async (h) => {
    await runCases(h, [
      {
        name: "one 100 KiB header",
        request: `GET /api/x HTTP/1.1\r\n${HOST}X-Big: ${
          "a".repeat(100_000)
        }\r\n${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "500 headers",
        request: `GET /api/x HTTP/1.1\r\n${HOST}${
          Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join("")
        }${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "100 KiB URI",
        request: `GET /api/${
          "a".repeat(100_000)
        } HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
    ]);
  });
});

Deno.test("odd methods: refused on a route that lists methods; never turned into upstream traffic", async () => {
  await withGateway(async (h) => {
    await runCases(h, [
      {
        name: "FOO",
        request: `FOO /api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 405, code: "method_not_allowed" },
      },
      {
        name: "lower-case get",
        request: `get /api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 405, code: "method_not_allowed" },
      },
      {
        name: "method with ( )",
        request: `G(T /api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "CONNECT to a path",
        request: `CONNECT /open/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { runtime: 400 },
      },
      {
        name: "CONNECT to the decoy",
        request:
          `CONNECT ${h.decoyAuthority} HTTP/1.1\r\nHost: ${h.decoyAuthority}\r\n${CLOSE}\r\n`,
        expect: { gateway: 404, code: "no_route" },
      },
      {
        name: "OPTIONS *",
        request: `OPTIONS * HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 404, code: "no_route" },
      },
    ]);
  });
});

Deno.test("TRACE and TRACK get a 4xx on a route allowing every method, and cannot open its breaker", async () => {
  await withGateway(async (h) => {
    // fetch() refuses these methods; a gateway that counts that as an
    // upstream failure lets any client open the breaker for everyone.
    for (let i = 0; i < 12; i++) {
      for (const method of ["TRACE", "TRACK"]) {
        const answer = await send(
          h.gw,
          `${method} /open/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        );
        assert.ok(
          typeof answer.status === "number" && answer.status >= 400 &&
            answer.status < 500,
          `${method} #${i}: got ${answer.status} ${answer.body.slice(0, 120)}`,
        );
      }
    }
    const res = await fetch(`${h.gw.url}/open/after-trace`);
    assert.equal(res.status, 200, await res.text());
  });
});

Deno.test("Upgrade attempts are not upgraded by accident: an h2c upgrade never reaches the upstream; a WebSocket one only as the gateway's own handshake, refused here", async () => {
  await withGateway(async (h) => {
    const attempts = [
      `GET /api/ws HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET /api/h2c HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    ];
    for (const request of attempts) {
      const answer = await send(h.gw, request);
      assert.notEqual(answer.status, 101);
      assert.equal(header(answer, "upgrade"), undefined);
      await assertStillServing(h, request.split("\r\n")[0]);
    }
    for (const request of h.origin.requests) {
      assert.equal(request.headers.get("http2-settings"), null, request.path);
      if (request.path === "/echo/base/ws") {
        // WebSocket proxying (docs/websocket.md): the gateway's own handshake,
        // which this plain origin does not accept.
        assert.equal(request.headers.get("upgrade"), "websocket");
        assert.notEqual(
          request.headers.get("sec-websocket-key"),
          "dGhlIHNhbXBsZSBub25jZQ==",
        );
        continue;
      }
      assert.equal(request.headers.get("upgrade"), null, request.path);
      assert.doesNotMatch(request.headers.get("connection") ?? "", /upgrade/i);
    }
  });
});

Deno.test("encoded path tricks are refused by the gateway", async () => {
  await withGateway(async (h) => {
    const tricks = [
      "/api/%2e%2e/admin",
      "/api/%2E%2E/admin",
      "/api/..%2f..%2fadmin",
      "/api/%5c..%5cadmin",
      "/api/..\\admin",
      "/api/../admin",
      "/api/./../admin",
      "/api/a%00b",
      "/api/a%0d%0aX-Injected:%201",
      "/api/%c0%ae%c0%ae/admin",
      "/api/..#x",
    ];
    await runCases(
      h,
      tricks.map((path) => ({
        name: path,
        request: `GET ${path} HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 400, code: "bad_request" },
      })),
    );
  });
});

Deno.test("path tricks that some upstreams normalise are refused: a fragment hiding dots, Tomcat's ..;", async () => {
  await withGateway(async (h) => {
    await runCases(
      h,
      ["/api/%5c..#x", "/api/..;/admin", "/api/%2e%2e;x/admin"].map((path) => ({
        name: path,
        request: `GET ${path} HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 400, code: "bad_request" },
      })),
    );
  });
});

Deno.test("targets and Host naming another server reach only the configured upstream", async () => {
  await withGateway(async (h) => {
    const d = h.decoyAuthority;
    await runCases(h, [
      {
        name: "absolute-form to the decoy",
        request: `GET http://${d}/api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/x" },
      },
      {
        name: "absolute-form https",
        request: `GET https://${d}/api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/x" },
      },
      {
        name: "absolute-form with userinfo",
        request:
          `GET http://gw.test@${d}/api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/x" },
      },
      {
        name: "Host: the decoy",
        request: `GET /api/x HTTP/1.1\r\nHost: ${d}\r\n${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/x" },
      },
      {
        name: "no Host at all",
        request: `GET /api/x HTTP/1.1\r\n${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/x" },
      },
      {
        name: "//decoy as the path",
        request: `GET //${d}/api/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 404, code: "no_route" },
      },
      {
        name: "//decoy after the prefix",
        request: `GET /api//${d}/x HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { forwardedTo: `/echo/base//${d}/x` },
      },
      {
        name: "double-encoded dots stay encoded",
        request: `GET /api/%252e%252e/admin HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { forwardedTo: "/echo/base/%252e%252e/admin" },
      },
      {
        name: "absolute-form file:",
        request: `GET file:///etc/passwd HTTP/1.1\r\n${HOST}${CLOSE}\r\n`,
        expect: { gateway: 404, code: "no_route" },
      },
    ]);
    for (const request of h.origin.requests) {
      assert.equal(request.headers.get("host"), `127.0.0.1:${h.origin.port}`);
    }
  });
});

Deno.test("forwarding headers from an untrusted client are overwritten, not passed on", async () => {
  await withGateway(async (h) => {
    const answer = await send(
      h.gw,
      `GET /api/x HTTP/1.1\r\n${HOST}X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6;host=evil\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: gopher\r\n${CLOSE}\r\n`,
    );
    assert.equal(answer.status, 200);
    const headers = new Headers(JSON.parse(answer.body).headers);
    assert.equal(headers.get("x-forwarded-for"), "127.0.0.1");
    assert.equal(headers.get("x-forwarded-host"), "gw.test");
    assert.equal(headers.get("x-forwarded-proto"), "http");
    assert.doesNotMatch(headers.get("forwarded") ?? "", /6\.6\.6\.6|evil/);
  });
});

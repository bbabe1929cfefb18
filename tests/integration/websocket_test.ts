/**
 * WebSocket proxying on Deno, end to end: a real WebSocket origin
 * (tests/_fixtures/ws_origin.ts), real WebSocket clients, and raw-socket
 * handshakes where the exact answer matters.
 */
import assert from "node:assert/strict";
import {
  routeConfig,
  startTestGateway,
  type TestGateway,
} from "../_fixtures/gateway.ts";
import { header, openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import { openSocket, upgradeRequest } from "../_fixtures/ws_client.ts";
import { acceptKey, droppingOrigin, WsOrigin } from "../_fixtures/ws_origin.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

async function withGateway(
  origin: { url: string },
  extra: Record<string, unknown>,
  run: (gateway: TestGateway) => Promise<void>,
  options: { drainMs?: number } = {},
): Promise<void> {
  const gateway = await startTestGateway(
    {
      admin: { token: "admin-token-0123456789" },
      ...routeConfig([origin.url], extra),
    },
    options,
  );
  try {
    await run(gateway);
  } finally {
    await gateway.close();
  }
}

async function withOrigin(
  run: (origin: WsOrigin) => Promise<void>,
): Promise<void> {
  const origin = WsOrigin.start();
  try {
    await run(origin);
  } finally {
    await origin.close();
  }
}

function socketLine(gateway: TestGateway) {
  return gateway.waitForAccessLog((line) => line.status === 101);
}

Deno.test("echo: text and binary in order both ways, subprotocol chosen end to end, one access line at close", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const client = await openSocket(`${gateway.url}/api/echo`, {
        protocols: ["chat.v3", "chat.v1"],
      });
      assert.equal(client.socket.protocol, "chat.v1");
      const sent: (string | Uint8Array)[] = [];
      for (let i = 0; i < 50; i++) {
        sent.push(i % 2 === 0 ? `text ${i} é€` : new Uint8Array([i, 255, 0]));
      }
      for (const message of sent) client.socket.send(message);
      for (const message of sent) {
        const got = await client.next();
        if (typeof message === "string") assert.equal(got, message);
        else assert.deepEqual(new Uint8Array(got as ArrayBuffer), message);
      }
      client.socket.close(4001, "done here");
      assert.deepEqual(await client.closed, {
        code: 4001,
        reason: "done here",
        wasClean: true,
      });
      const seen = await origin.nextClose();
      assert.equal(seen.code, 4001);
      assert.equal(seen.reason, "done here");
      const line = await socketLine(gateway);
      assert.equal(line.route, "test");
      // ttfbMs is the handshake (the 101), durationMs the socket's life.
      assert.equal(typeof line.ttfbMs, "number");
      assert.ok((line.ttfbMs as number) <= (line.durationMs as number));
      assert.deepEqual(line.websocket, {
        messagesIn: 50,
        messagesOut: 50,
        closeCode: 4001,
        closedBy: "client",
        cause: null,
      });
      const bytes = 25 * new TextEncoder().encode("text 0 é€").length + 25 * 3;
      assert.ok(Math.abs((line.bytesIn as number) - bytes) < 50);
      assert.equal(
        gateway.accessLogs().filter((l) => l.status === 101).length,
        1,
      );
      const metrics = await (await fetch(`${gateway.url}/_gateway/metrics`, {
        headers: { authorization: "Bearer admin-token-0123456789" },
      }))
        .text();
      assert.match(metrics, /gateway_websockets_active\{route="test"\} 0/);
      assert.match(
        metrics,
        /gateway_websocket_messages_total\{route="test",direction="in"\} 50/,
      );
      assert.match(
        metrics,
        /gateway_websocket_messages_total\{route="test",direction="out"\} 50/,
      );
    })
  ));

Deno.test("raw handshake: 101 answers the client's own key; upstream gets forwarding headers, request id, its own handshake, no hop-by-hop", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const conn = await openRaw(gateway.port);
      try {
        await conn.write(upgradeRequest("/api/echo?room=7", {
          "sec-websocket-protocol": "chat.v2",
          "x-request-id": "ws-req-1",
          "x-custom": "kept",
          "proxy-connection": "keep-alive",
          "sec-websocket-extensions": "permessage-deflate",
        }));
        const head = await conn.readHead();
        assert.equal(head.status, 101);
        assert.equal(
          header(head, "sec-websocket-accept"),
          await acceptKey(KEY),
        );
        assert.equal(header(head, "sec-websocket-protocol"), "chat.v2");
        assert.equal(header(head, "x-request-id"), "ws-req-1");
        assert.equal(header(head, "sec-websocket-extensions"), undefined);
      } finally {
        conn.close();
      }
      const [handshake] = origin.handshakes;
      assert.equal(handshake.path, "/echo");
      assert.equal(handshake.search, "?room=7");
      const h = handshake.headers;
      assert.equal(h.get("x-request-id"), "ws-req-1");
      assert.equal(h.get("x-forwarded-for"), "127.0.0.1");
      assert.equal(h.get("x-forwarded-host"), "gateway.test");
      // The handshake carries this gateway's Via, so a WebSocket route that
      // points back at the gateway is refused as a loop (508) like HTTP.
      assert.match(h.get("via") ?? "", /^1\.1 \S+$/);
      assert.equal(h.get("x-custom"), "kept");
      assert.equal(h.get("sec-websocket-protocol"), "chat.v2");
      assert.notEqual(h.get("sec-websocket-key"), KEY);
      assert.equal(h.get("proxy-connection"), null);
      assert.equal(h.get("sec-websocket-extensions"), null);
      assert.match(h.get("traceparent") ?? "", /^00-[0-9a-f]{32}-/);
      await socketLine(gateway);
    })
  ));

Deno.test("upstream messages sent before the client's socket opened are delivered first", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const client = await openSocket(`${gateway.url}/api/greet`);
      assert.equal(await client.next(), "hello");
      client.socket.send("after");
      assert.equal(await client.next(), "after");
      client.socket.close();
      await client.closed;
      await socketLine(gateway);
    })
  ));

Deno.test("close codes: the upstream's code and reason reach the client; a close without a code becomes 1000", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const a = await openSocket(
        `${gateway.url}/api/close?code=4002&reason=bye%20now`,
      );
      a.socket.send("x");
      assert.deepEqual(await a.closed, {
        code: 4002,
        reason: "bye now",
        wasClean: true,
      });
      const first = await socketLine(gateway);
      assert.equal(
        (first.websocket as { closedBy: string }).closedBy,
        "upstream",
      );
      const b = await openSocket(`${gateway.url}/api/close`);
      b.socket.send("x");
      assert.equal((await b.closed).code, 1000);
      const a1011 = await openSocket(
        `${gateway.url}/api/close?code=1011&reason=oops`,
      );
      a1011.socket.send("x");
      assert.deepEqual(await a1011.closed, {
        code: 1011,
        reason: "oops",
        wasClean: true,
      });
      await gateway.waitForAccessLog(() =>
        gateway.accessLogs().filter((l) => l.status === 101).length === 3
      );
    })
  ));

Deno.test("an upstream that drops without a close frame closes the client with 1011, never 1006", async () => {
  const origin = droppingOrigin();
  try {
    await withGateway(origin, {}, async (gateway) => {
      const client = await openSocket(`${gateway.url}/api/x`);
      assert.equal(await client.next(), "hello");
      const closed = await client.closed;
      assert.equal(closed.code, 1011);
      assert.equal(closed.wasClean, true);
      const line = await socketLine(gateway);
      assert.deepEqual(line.websocket, {
        messagesIn: 0,
        messagesOut: 1,
        closeCode: 1011,
        closedBy: "upstream",
        cause: null,
      });
    });
  } finally {
    await origin.close();
  }
});

Deno.test("a refused handshake passes the upstream's status back; the breaker does not count a 4xx", () =>
  withOrigin((origin) =>
    withGateway(origin, {
      policy: { breaker: { minCalls: 1, failureRate: 0.5 } },
    }, async (gateway) => {
      for (let i = 0; i < 3; i++) {
        const res = await rawRequest(
          gateway.port,
          upgradeRequest("/api/refuse?status=403"),
        );
        assert.equal(res.status, 403);
        assert.equal(header(res, "upgrade"), undefined);
      }
      assert.equal(gateway.serving.gateway.board.views()[0].state, "closed");
      const line = await gateway.waitForAccessLog((l) => l.status === 403);
      assert.equal(line.websocket, undefined);
    })
  ));

Deno.test("handshake failures: timeout is 504, unreachable is 502 (problem+json), and they open the breaker", async () => {
  await withOrigin((origin) =>
    withGateway(
      origin,
      { policy: { timeouts: { headersMs: 200 } } },
      async (gateway) => {
        const res = await rawRequest(
          gateway.port,
          upgradeRequest("/api/slow?ms=3000"),
        );
        assert.equal(res.status, 504);
        assert.equal(header(res, "content-type"), "application/problem+json");
        assert.equal(
          JSON.parse(new TextDecoder().decode(res.body)).code,
          "upstream_timeout",
        );
      },
    )
  );
  const closedPort = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(closedPort.addr as Deno.NetAddr).port}`;
  closedPort.close();
  await withGateway({ url }, {
    policy: { breaker: { minCalls: 2, failureRate: 0.5 } },
  }, async (gateway) => {
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(gateway.port, upgradeRequest("/api/echo"));
      assert.equal(res.status, 502);
      assert.equal(
        JSON.parse(new TextDecoder().decode(res.body)).code,
        "upstream_unavailable",
      );
    }
    const open = await rawRequest(gateway.port, upgradeRequest("/api/echo"));
    assert.equal(open.status, 503);
    assert.equal(
      JSON.parse(new TextDecoder().decode(open.body)).code,
      "circuit_open",
    );
  });
});

Deno.test("messages over maxMessageBytes close with 1009, either direction", () =>
  withOrigin((origin) =>
    withGateway(
      origin,
      { policy: { websocket: { maxMessageBytes: 1000 } } },
      async (gateway) => {
        const a = await openSocket(`${gateway.url}/api/echo`);
        a.socket.send("x".repeat(1000));
        assert.equal((await a.next() as string).length, 1000);
        a.socket.send("é".repeat(501)); // 1002 bytes
        assert.equal((await a.closed).code, 1009);
        assert.equal((await origin.nextClose()).wasClean, true);
        const b = await openSocket(`${gateway.url}/api/send?bytes=1001`);
        b.socket.send("go");
        assert.equal((await b.closed).code, 1009);
        const line = await gateway.waitForAccessLog((l) =>
          (l.websocket as { cause?: string } | undefined)?.cause ===
            "message_too_big" &&
          (l.websocket as { messagesIn: number }).messagesIn === 1 &&
          l.bytesIn === 2
        );
        assert.equal(
          (line.websocket as { closedBy: string }).closedBy,
          "gateway",
        );
      },
    )
  ));

Deno.test("idleMs of silence both ways closes with 1001", () =>
  withOrigin((origin) =>
    withGateway(
      origin,
      { policy: { websocket: { idleMs: 300 } } },
      async (gateway) => {
        const client = await openSocket(`${gateway.url}/api/echo`);
        client.socket.send("keep");
        assert.equal(await client.next(), "keep");
        const closed = await client.closed;
        assert.deepEqual(closed, {
          code: 1001,
          reason: "idle timeout",
          wasClean: true,
        });
        const line = await socketLine(gateway);
        assert.equal((line.websocket as { cause: string }).cause, "idle");
        assert.match(String(line.flags), /IT/);
        assert.ok((line.durationMs as number) >= 300);
      },
    )
  ));

Deno.test("hostile handshakes: bad key or version is 400, non-GET is 405, none reaches the upstream", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const badKey = await rawRequest(
        gateway.port,
        upgradeRequest("/api/echo", { "sec-websocket-key": "not-a-key" }),
      );
      assert.equal(badKey.status, 400);
      assert.equal(header(badKey, "content-type"), "application/problem+json");
      const noKey = await rawRequest(
        gateway.port,
        upgradeRequest("/api/echo", { "sec-websocket-key": "" }),
      );
      assert.equal(noKey.status, 400);
      const badVersion = await rawRequest(
        gateway.port,
        upgradeRequest("/api/echo", { "sec-websocket-version": "8" }),
      );
      assert.equal(badVersion.status, 400);
      assert.equal(header(badVersion, "sec-websocket-version"), "13");
      const post = await rawRequest(
        gateway.port,
        upgradeRequest("/api/echo", { "content-length": "0" }, "POST"),
      );
      // Deno's HTTP server answers a POST upgrade 400 itself; where one gets
      // through (workerd), the gateway's answer is 405 with Allow: GET.
      assert.ok(post.status === 400 || post.status === 405);
      assert.equal(origin.handshakes.length, 0);
    })
  ));

Deno.test("websocket: false — an upgrade is a plain request (Upgrade stripped)", () =>
  withOrigin((origin) =>
    withGateway(origin, { policy: { websocket: false } }, async (gateway) => {
      const res = await rawRequest(gateway.port, upgradeRequest("/api/echo"));
      assert.equal(res.status, 426); // the origin's answer to a request without Upgrade
      assert.equal(origin.handshakes[0].headers.get("upgrade"), null);
    })
  ));

Deno.test("auth before the upgrade: missing key is 401 upstream untouched; x-api-key header or the access_token parameter (stripped) pass", () =>
  withOrigin((origin) =>
    withGateway(
      origin,
      { auth: { apiKeys: ["ws-key-1"] } },
      async (gateway) => {
        const missing = await rawRequest(
          gateway.port,
          upgradeRequest("/api/echo"),
        );
        assert.equal(missing.status, 401);
        const wrong = await rawRequest(
          gateway.port,
          upgradeRequest("/api/echo?access_token=nope"),
        );
        assert.equal(wrong.status, 401);
        assert.equal(origin.handshakes.length, 0);
        const byHeader = await openSocket(`${gateway.url}/api/echo`, {
          headers: { "x-api-key": "ws-key-1" },
        });
        byHeader.socket.close();
        await byHeader.closed;
        const byQuery = await openSocket(
          `${gateway.url}/api/echo?room=1&access_token=ws-key-1`,
        );
        byQuery.socket.close();
        await byQuery.closed;
        assert.equal(origin.handshakes.length, 2);
        assert.equal(origin.handshakes[0].headers.get("x-api-key"), null);
        assert.equal(origin.handshakes[1].search, "?room=1");
        assert.equal(origin.handshakes[1].headers.get("authorization"), null);
        await gateway.waitForAccessLog(() =>
          gateway.accessLogs().filter((l) => l.status === 101).length === 2
        );
      },
    )
  ));

Deno.test("bulkhead and rate limit apply to upgrades; the permit is held for the socket's life", () =>
  withOrigin((origin) =>
    withGateway(
      origin,
      { policy: { bulkhead: { maxConcurrent: 1 } } },
      async (gateway) => {
        const first = await openSocket(`${gateway.url}/api/echo`);
        const full = await rawRequest(
          gateway.port,
          upgradeRequest("/api/echo"),
        );
        assert.equal(full.status, 503);
        assert.equal(
          JSON.parse(new TextDecoder().decode(full.body)).code,
          "overloaded",
        );
        const status =
          await (await fetch(`${gateway.url}/_gateway/status.json`, {
            headers: { authorization: "Bearer admin-token-0123456789" },
          })).json();
        assert.equal(status.routes[0].openWebSockets, 1);
        first.socket.close();
        await first.closed;
        await socketLine(gateway);
        const again = await openSocket(`${gateway.url}/api/echo`);
        again.socket.close();
        await again.closed;
      },
    )
  ).then(() =>
    withOrigin((origin) =>
      withGateway(origin, {
        policy: { rateLimit: { requests: 1, windowSeconds: 60 } },
      }, async (gateway) => {
        const ok = await openSocket(`${gateway.url}/api/echo`);
        ok.socket.close();
        await ok.closed;
        const limited = await rawRequest(
          gateway.port,
          upgradeRequest("/api/echo"),
        );
        assert.equal(limited.status, 429);
        await socketLine(gateway);
      })
    )
  ));

Deno.test("a client that does not read: past the queue bound both sides are closed (1008), nothing queues without limit", () =>
  withOrigin((origin) =>
    withGateway(
      origin,
      { policy: { websocket: { maxMessageBytes: 65536 } } },
      async (gateway) => {
        const conn = await openRaw(gateway.port);
        try {
          await conn.write(upgradeRequest("/api/flood?count=2000&bytes=65536"));
          assert.equal((await conn.readHead()).status, 101);
          // One masked text frame "go", then never read again.
          await conn.write(
            new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x67 ^ 1, 0x6f ^ 2]),
          );
          const seen = await origin.nextClose(10_000);
          assert.equal(seen.wasClean, true);
          conn.close(); // the close frame sits behind what it never read
          const line = await socketLine(gateway);
          assert.equal(
            (line.websocket as { cause: string }).cause,
            "backpressure",
          );
          assert.equal(
            (line.websocket as { closeCode: number }).closeCode,
            1008,
          );
          assert.ok(
            (line.websocket as { messagesOut: number }).messagesOut < 2000,
          );
        } finally {
          conn.close();
        }
      },
    )
  ));

Deno.test("shutdown: open sockets keep working through the drain time, then get 1001", () =>
  withOrigin((origin) =>
    withGateway(origin, {}, async (gateway) => {
      const client = await openSocket(`${gateway.url}/api/echo`);
      const started = Date.now();
      const stopping = gateway.serving.shutdown();
      client.socket.send("still here");
      assert.equal(await client.next(), "still here");
      assert.deepEqual(await client.closed, {
        code: 1001,
        reason: "gateway shutting down",
        wasClean: true,
      });
      assert.ok(Date.now() - started >= 400);
      await stopping;
      const line = await socketLine(gateway);
      assert.equal((line.websocket as { cause: string }).cause, "shutdown");
    }, { drainMs: 500 })
  ));

/**
 * The resilience policies end to end over loopback: timeouts of each kind,
 * safe retries with backoff, Retry-After and a budget, failover, the
 * circuit breaker (with a fake clock for its open time) and the bulkhead.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../_fixtures/fake_clock.ts";
import { Origin } from "../_fixtures/origin.ts";
import { openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

const GET_CLOSE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

function deadUpstream(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("no headers within headersMs: 504 upstream_timeout and the upstream request is cancelled", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { headersMs: 150 }, retry: { retries: 0 } },
  }));
  const res = await fetch(`${gw.url}/api/slow-headers?ms=10000`);
  assert.equal(res.status, 504);
  assert.equal((await res.json()).code, "upstream_timeout");
  assert.equal(await origin.nextCancel(), "/slow-headers");
  const line = await gw.waitForAccessLog((l) => l.status === 504);
  assert.equal(line.flags, "UT");
  const metrics = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
  assert.match(
    metrics,
    /gateway_timeouts_total\{route="test",kind="headers"\} 1/,
  );
});

Deno.test("the headers timeout never cuts a healthy stream that outlasts it", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { headersMs: 100 } },
  }));
  const res = await rawRequest(
    gw.port,
    GET_CLOSE("/api/stream?chunks=5&interval=80"),
  );
  assert.equal(res.status, 200);
  assert.ok(res.complete);
  assert.equal(
    new TextDecoder().decode(res.body).trim().split("\n").length,
    5,
  );
});

Deno.test("a body silent for idleMs ends abnormally and cancels the upstream", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { idleMs: 200 } },
  }));
  const res = await rawRequest(gw.port, GET_CLOSE("/api/stall?chunks=1"));
  assert.equal(res.status, 200);
  assert.equal(res.complete, false);
  assert.ok(!res.timedOut, "the gateway did not end the stalled body");
  assert.equal(await origin.nextCancel(), "/stall");
  const line = await gw.waitForAccessLog(() => true);
  assert.match(String(line.flags), /IT/);
  const metrics = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
  assert.match(
    metrics,
    /gateway_timeouts_total\{route="test",kind="idle"\} 1/,
  );
});

Deno.test("a slow client is not an idle upstream: pauses in reading do not trip idleMs", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { idleMs: 150 } },
  }));
  const conn = await openRaw(gw.port);
  await conn.write(GET_CLOSE("/api/big?bytes=67108864"));
  assert.equal((await conn.readHead()).status, 200);
  assert.ok(await conn.readChunk());
  // The client stops reading (its buffers fill, backpressure reaches the
  // gateway) for longer than idleMs, then reads on.
  await new Promise((resolve) => setTimeout(resolve, 400));
  let chunks = 1;
  while (await conn.readChunk() !== null) chunks++;
  assert.ok(conn.complete, "the body was cut while the client paused");
  conn.close();
  const line = await gw.waitForAccessLog(() => true);
  assert.doesNotMatch(String(line.flags), /IT/);
});

Deno.test("a client that stops reading for clientIdleMs is let go: upstream cancelled, flag CD", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { idleMs: 150, clientIdleMs: 300 } },
  }));
  const conn = await openRaw(gw.port);
  try {
    // Of unknown length, so relayed: Deno pipes a body of known length
    // natively, under one deadline instead (see the next test).
    await conn.write(GET_CLOSE("/api/big?bytes=67108864&chunked=1"));
    assert.equal((await conn.readHead()).status, 200);
    assert.ok(await conn.readChunk());
    // No more reads: the socket buffers fill and the gateway holds a chunk
    // nobody takes.
    assert.equal(await origin.nextCancel(), "/big");
  } finally {
    conn.close();
  }
  const line = await gw.waitForAccessLog(() => true);
  assert.match(String(line.flags), /CD/);
  assert.doesNotMatch(String(line.flags), /IT/);
});

Deno.test("a body of known length that stalls is cut at idleMs plus its length at minBytesPerSecond (Deno's native pipe)", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { idleMs: 150, minBytesPerSecond: 1_000_000 } },
  }));
  const started = performance.now();
  // 100 KB at 1 MB/s, rounded up to a second: the deadline is 150 + 1000 ms.
  const res = await rawRequest(
    gw.port,
    GET_CLOSE("/api/stall?chunks=1&length=100000"),
  );
  const elapsedMs = performance.now() - started;
  assert.equal(res.status, 200);
  assert.equal(res.complete, false);
  assert.ok(!res.timedOut, "the gateway did not end the stalled body");
  // Relayed, it would have ended after 150 ms of silence: timers never fire
  // early, so this tells the native pipe's deadline from the relay's.
  assert.ok(elapsedMs >= 1150, `ended after ${elapsedMs} ms`);
  assert.equal(await origin.nextCancel(), "/stall");
  const line = await gw.waitForAccessLog(() => true);
  assert.match(String(line.flags), /IT/);
});

Deno.test("a client that stops reading a body of known length is let go at the same deadline: permit freed, flagged", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: {
      timeouts: { idleMs: 150, minBytesPerSecond: 100_000_000 },
      bulkhead: { maxConcurrent: 1 },
    },
  }));
  const conn = await openRaw(gw.port);
  try {
    await conn.write(GET_CLOSE("/api/big?bytes=67108864"));
    assert.equal((await conn.readHead()).status, 200);
    assert.ok(await conn.readChunk());
    // No more reads. 64 MiB at 100 MB/s, rounded up: the deadline is 1150 ms.
    const line = await gw.waitForAccessLog(() => true);
    assert.match(String(line.flags), /IT/);
    // The permit is free again while the stalled client is still connected.
    const next = await fetch(`${gw.url}/api/echo`);
    assert.equal(next.status, 200);
    await next.body?.cancel();
    // The cut reaches the client once it reads on.
    while (await conn.readChunk() !== null) { /* what was in flight */ }
    assert.equal(conn.complete, false, "a cut body must not look complete");
  } finally {
    conn.close();
  }
  assert.equal(await origin.nextCancel(), "/big");
});

Deno.test("totalMs owns the body too: a long stream is cut off abnormally", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { timeouts: { totalMs: 300, headersMs: 300 } },
  }));
  const res = await rawRequest(
    gw.port,
    GET_CLOSE("/api/stream?chunks=40&interval=50"),
  );
  assert.equal(res.status, 200);
  assert.equal(res.complete, false);
  const line = await gw.waitForAccessLog(() => true);
  assert.match(String(line.flags), /TT/);
});

Deno.test("GET is retried on 503 and the client learns the attempt count", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { retry: { retries: 2, baseMs: 1, maxMs: 5 } },
  }));
  const res = await fetch(`${gw.url}/api/flaky?fail=2&key=get`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  assert.equal(res.headers.get("x-gateway-attempts"), "3");
  assert.equal(origin.hits("/flaky"), 3);
  const deadline = Number(
    origin.requests[0].headers.get("x-request-deadline-ms"),
  );
  assert.ok(deadline > 0 && deadline <= 120_000);
});

Deno.test("POST is not retried; with Idempotency-Key it is, body replayed", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { retry: { retries: 2, baseMs: 1, maxMs: 5 } },
  }));
  const plain = await fetch(`${gw.url}/api/flaky?fail=1&key=post`, {
    method: "POST",
    body: "hello",
  });
  assert.equal(plain.status, 503);
  await plain.body?.cancel();
  assert.equal(origin.hits("/flaky"), 1);

  const keyed = await fetch(`${gw.url}/api/flaky?fail=1&key=idem`, {
    method: "POST",
    body: "hello",
    headers: { "idempotency-key": "k-1" },
  });
  assert.equal(keyed.status, 200);
  await keyed.body?.cancel();
  const bodies = origin.requests
    .filter((r) => r.search.includes("key=idem"))
    .map((r) => new TextDecoder().decode(r.body));
  assert.deepEqual(bodies, ["hello", "hello"]);
});

Deno.test("a body larger than replayBufferBytes is sent once, never retried", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { retry: { retries: 2, baseMs: 1, replayBufferBytes: 8 } },
  }));
  const res = await fetch(`${gw.url}/api/flaky?fail=1&key=big`, {
    method: "PUT",
    body: "more than eight bytes",
  });
  assert.equal(res.status, 503);
  await res.body?.cancel();
  assert.equal(origin.hits("/flaky"), 1);
});

Deno.test("Retry-After is waited out up to the cap; above it the response goes back", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: {
      retry: { retries: 1, baseMs: 1, maxMs: 1, retryAfterCapMs: 1000 },
    },
  }));
  const started = performance.now();
  const waited = await fetch(
    `${gw.url}/api/flaky?fail=1&key=ra&retry-after-ms=300`,
  );
  assert.equal(waited.status, 200);
  await waited.body?.cancel();
  assert.ok(performance.now() - started >= 290, "Retry-After not honoured");

  const tooLong = await fetch(
    `${gw.url}/api/flaky?fail=1&key=ra2&retry-after=60`,
  );
  assert.equal(tooLong.status, 503);
  assert.equal(tooLong.headers.get("retry-after"), "60");
  assert.equal(tooLong.headers.get("x-gateway-attempts"), "1");
  await tooLong.body?.cancel();
});

Deno.test("the retry budget bounds a 503 storm to (1 + ratio) × offered load", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([`${origin.url}/status`], {
      policy: {
        retry: {
          retries: 2,
          baseMs: 0,
          maxMs: 0,
          budget: { ratio: 0.2, minPerSecond: 0 },
        },
        breaker: {
          minCalls: 10_000,
          size: 10_000,
          consecutiveFailures: 10_000,
        },
      },
    }),
  );
  const offered = 100;
  for (let i = 0; i < offered; i++) {
    const res = await fetch(`${gw.url}/api/503`);
    assert.equal(res.status, 503);
    await res.body?.cancel();
  }
  const seen = origin.hits("/status/503");
  assert.ok(seen >= offered, `only ${seen}`);
  assert.ok(
    seen <= offered * 1.2,
    `${seen} upstream calls for ${offered} requests`,
  );
  assert.ok(seen > offered, "no retry at all");
});

Deno.test("failover: a dead first upstream is skipped for the next one", async () => {
  const origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([deadUpstream(), `${origin.url}/echo`], {
      policy: {
        balance: "failover",
        retry: { retries: 1, baseMs: 1, maxMs: 1 },
      },
    }),
  );
  const res = await fetch(`${gw.url}/api/x`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-gateway-attempts"), "2");
  assert.equal((await res.json()).path, "/echo/x");
  const line = await gw.waitForAccessLog((l) => l.status === 200);
  assert.match(String(line.flags), /RT/);
  await origin.close();
});

Deno.test("breaker: opens on failures, rejects without calling, half-open lets exactly N probes, closes", async () => {
  let healthy = false;
  let calls = 0;
  let releaseProbes = () => {};
  const probesHeld = new Promise<void>((resolve) => releaseProbes = resolve);
  let arrived = 0;
  let bothArrived = () => {};
  const probesArrived = new Promise<void>((resolve) => bothArrived = resolve);
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      calls++;
      if (!healthy) return new Response("down", { status: 500 });
      if (++arrived === 2) bothArrived();
      await probesHeld;
      return new Response("up");
    },
  );
  const clock = new FakeClock(Date.now());
  const gw = await startTestGateway(
    routeConfig([`http://127.0.0.1:${upstream.addr.port}`], {
      policy: {
        retry: { retries: 0 },
        breaker: {
          size: 4,
          minCalls: 4,
          failureRate: 0.5,
          openMs: 10_000,
          halfOpenProbes: 2,
        },
      },
    }),
    { clock },
  );
  try {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/api/x`);
      assert.equal(res.status, 500);
      await res.body?.cancel();
    }
    const rejected = await fetch(`${gw.url}/api/x`);
    assert.equal(rejected.status, 503);
    assert.equal((await rejected.json()).code, "circuit_open");
    assert.equal(rejected.headers.get("retry-after"), "10");
    assert.equal(calls, 4, "an open breaker let a call through");

    healthy = true;
    clock.advance(10_000);
    const concurrent = Array.from(
      { length: 4 },
      () => fetch(`${gw.url}/api/x`),
    );
    await probesArrived;
    // Two probes are held at the upstream; the other two must be refused
    // without reaching it (calls counts every arrival).
    releaseProbes();
    const all = await Promise.all(concurrent);
    const statuses = all.map((r) => r.status).sort();
    for (const r of all) await r.body?.cancel();
    assert.deepEqual(statuses, [200, 200, 503, 503]);
    assert.equal(calls, 6);

    const after = await fetch(`${gw.url}/api/x`);
    assert.equal(after.status, 200, "breaker did not close after the probes");
    await after.body?.cancel();
    const views = gw.serving.gateway.board.views();
    assert.equal(views[0].state, "closed");
  } finally {
    await gw.close();
    await upstream.shutdown();
  }
});

Deno.test("bulkhead: excess exchanges get 503 overloaded at once; permits come back when bodies end", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url], {
    policy: { bulkhead: { maxConcurrent: 2 } },
  }));
  const held = [];
  for (let i = 0; i < 2; i++) {
    const conn = await openRaw(gw.port);
    await conn.write(GET_CLOSE("/api/stall?chunks=1"));
    assert.equal((await conn.readHead()).status, 200);
    held.push(conn);
  }
  const rejected = await fetch(`${gw.url}/api/echo`);
  assert.equal(rejected.status, 503);
  assert.equal(rejected.headers.get("retry-after"), "1");
  assert.equal((await rejected.json()).code, "overloaded");
  assert.equal(origin.hits("/echo"), 0);

  for (const conn of held) conn.close();
  await origin.nextCancel();
  await origin.nextCancel();
  const ok = await fetch(`${gw.url}/api/echo`);
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("a route that shortens only totalMs: the time left bounds each attempt under the inherited headersMs", async () => {
  const origin = await Origin.start();
  const clock = new FakeClock(Date.now());
  // headersMs stays the built-in 10 000; the route's total is 800.
  const gw = await startTestGateway(
    routeConfig([origin.url], {
      policy: { timeouts: { totalMs: 800 }, retry: { retries: 0 } },
    }),
    { clock },
  );
  try {
    const answered = fetch(`${gw.url}/api/slow-headers?ms=10000`);
    await origin.waitForRequests(1);
    clock.advance(800);
    const res = await answered;
    assert.equal(res.status, 504);
    assert.equal((await res.json()).code, "upstream_timeout");
    assert.equal(await origin.nextCancel(), "/slow-headers");
    const line = await gw.waitForAccessLog((l) => l.status === 504);
    assert.equal(line.flags, "TT");
  } finally {
    await gw.close();
    await origin.close();
  }
});

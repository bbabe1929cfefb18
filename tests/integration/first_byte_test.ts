/**
 * `timeouts.firstByteMs`: an upstream that sends its headers and then stalls
 * or drops the connection before the first body byte is a failed attempt,
 * retried on another upstream where the rules allow it, counted by the
 * breaker, else answered 504/502; the first chunk goes on the moment it
 * arrives.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { header, openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import {
  headersThenStall,
  RawOrigin,
  resetMidChunked,
} from "../_fixtures/raw_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

const GET_CLOSE = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;

const FIRST_BYTE_MS = 200;

function firstBytePolicy(retries: number) {
  return {
    policy: {
      timeouts: { firstByteMs: FIRST_BYTE_MS },
      retry: { retries, baseMs: 1, maxMs: 2 },
      // The broken upstream first, so the failover is what is tested.
      balance: "failover",
    },
  };
}

for (
  const [failure, script, flag] of [
    ["stalls", headersThenStall(), "first_byte"],
    ["drops the connection", resetMidChunked(0), "network"],
  ] as const
) {
  Deno.test(`an upstream that ${failure} after its headers is failed over invisibly`, async () => {
    const broken = RawOrigin.start(script);
    const origin = await Origin.start();
    const gw = await startTestGateway(
      routeConfig([broken.url, origin.url], firstBytePolicy(1)),
    );
    try {
      const res = await rawRequest(
        gw.port,
        GET_CLOSE("/api/sse?events=2&between=0"),
      );
      assert.equal(res.status, 200);
      assert.equal(header(res, "x-gateway-attempts"), "2");
      assert.ok(res.complete);
      assert.match(new TextDecoder().decode(res.body), /"seq":1/);
      assert.equal(broken.requests.length, 1);
      assert.equal(origin.hits("/sse"), 1);
      const metrics = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
      const outcome = flag === "first_byte" ? "timeout" : "network";
      assert.match(
        metrics,
        new RegExp(
          `gateway_upstream_attempts_total\\{route="test",upstream="${broken.url}",outcome="${outcome}"\\} 1`,
        ),
      );
      if (flag === "first_byte") {
        assert.match(
          metrics,
          /gateway_timeouts_total\{route="test",kind="first_byte"\} 1/,
        );
      }
    } finally {
      await gw.close();
      await origin.close();
      await broken.close();
    }
  });
}

Deno.test("without a retry left, a stall before the first byte is a 504 problem and a drop a 502", async () => {
  for (
    const [script, status, code] of [
      [headersThenStall(), 504, "upstream_timeout"],
      [resetMidChunked(0), 502, "upstream_unavailable"],
    ] as const
  ) {
    const broken = RawOrigin.start(script);
    const gw = await startTestGateway(
      routeConfig([broken.url], firstBytePolicy(0)),
    );
    try {
      const res = await fetch(`${gw.url}/api/anything`);
      assert.equal(res.status, status);
      assert.equal(
        res.headers.get("content-type"),
        "application/problem+json",
      );
      assert.equal((await res.json()).code, code);
    } finally {
      await gw.close();
      await broken.close();
    }
  }
});

Deno.test("a POST without Idempotency-Key is not retried after a first-byte stall", async () => {
  const broken = RawOrigin.start(headersThenStall());
  const origin = await Origin.start();
  const gw = await startTestGateway(
    routeConfig([broken.url, origin.url], firstBytePolicy(2)),
  );
  try {
    const res = await fetch(`${gw.url}/api/upload`, {
      method: "POST",
      body: "x",
    });
    assert.equal(res.status, 504);
    await res.body?.cancel();
    assert.equal(origin.hits("/upload"), 0);
  } finally {
    await gw.close();
    await origin.close();
    await broken.close();
  }
});

Deno.test("the held first chunk reaches the client the moment it arrives, headers with it", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  // The origin holds its first chunk until the test says so, then stalls
  // for good: the chunk must reach the client while the upstream is silent.
  const broken = RawOrigin.start(headersThenStall(released));
  const gw = await startTestGateway(routeConfig([broken.url], {
    policy: { timeouts: { firstByteMs: 5_000, idleMs: 5_000 } },
  }));
  try {
    const conn = await openRaw(gw.port);
    await conn.write(GET_CLOSE("/api/sse"));
    const headPending = conn.readHead();
    // Headers are held while no body byte came: none arrive in 300 ms
    // (they would in about one without the hold).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const early = await Promise.race([
      headPending.then(() => "head"),
      new Promise((r) => timer = setTimeout(() => r("held"), 300)),
    ]);
    clearTimeout(timer);
    assert.equal(early, "held");
    assert.equal(broken.requests.length, 1);
    const releasedAt = performance.now();
    release();
    const head = await headPending;
    assert.equal(head.status, 200);
    const chunk = await conn.readChunk();
    const lagMs = performance.now() - releasedAt;
    assert.equal(new TextDecoder().decode(chunk!), "data: first\n\n");
    assert.ok(lagMs < 1_000, `first chunk ${lagMs.toFixed(0)} ms late`);
    conn.close();
  } finally {
    await gw.close();
    await broken.close();
  }
});

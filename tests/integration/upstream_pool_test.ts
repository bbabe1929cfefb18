/**
 * Upstream pools over loopback: three or four real origins counting what
 * they get, the gateway spreading, steering and ejecting between them.
 */
import assert from "node:assert/strict";
import { CountingOrigin, deadUpstream } from "../_fixtures/counting_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

async function get(url: string): Promise<number> {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.status;
}

/** `total` requests, `concurrency` at a time; returns their statuses. */
async function load(
  url: string,
  total: number,
  concurrency: number,
): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        statuses.push(await get(url));
      }
    }),
  );
  return statuses;
}

Deno.test("round_robin spreads evenly, and by weight", async () => {
  await using a = CountingOrigin.start();
  await using b = CountingOrigin.start();
  await using c = CountingOrigin.start();
  const even = await startTestGateway(
    routeConfig([a.url, b.url, c.url], { policy: { balance: "round_robin" } }),
  );
  try {
    await load(`${even.url}/api/x`, 30, 1);
    assert.deepEqual([a.requests, b.requests, c.requests], [10, 10, 10]);
  } finally {
    await even.close();
  }
  const weighted = await startTestGateway(routeConfig([
    { url: a.url, weight: 3 },
    { url: b.url, weight: 1 },
    { url: c.url, weight: 1 },
  ], { policy: { balance: "round_robin" } }));
  try {
    await load(`${weighted.url}/api/x`, 50, 1);
    assert.deepEqual(
      [a.requests - 10, b.requests - 10, c.requests - 10],
      [30, 10, 10],
    );
  } finally {
    await weighted.close();
  }
});

Deno.test("p2c steers away from a slow instance under concurrency", async () => {
  await using fast1 = CountingOrigin.start();
  await using fast2 = CountingOrigin.start();
  await using slow = CountingOrigin.start();
  slow.delayMs = 150;
  const gw = await startTestGateway(
    routeConfig([fast1.url, fast2.url, slow.url]),
  );
  try {
    const statuses = await load(`${gw.url}/api/x`, 120, 6);
    assert.ok(statuses.every((status) => status === 200));
    const total = fast1.requests + fast2.requests + slow.requests;
    assert.equal(total, 120);
    // Round robin would send it 40; p2c learns and sends it a few probes.
    assert.ok(slow.requests <= 15, `slow got ${slow.requests} of 120`);
    const metrics = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `gateway_upstream_requests_total\\{route="test",upstream="${slow.url}"\\} ${slow.requests}\\n`,
      ),
    );
  } finally {
    await gw.close();
  }
});

Deno.test("failover sends everything to the first, backups only once every primary is out", async () => {
  await using first = CountingOrigin.start();
  await using second = CountingOrigin.start();
  await using backup = CountingOrigin.start();
  const gw = await startTestGateway(routeConfig([
    first.url,
    second.url,
    { url: backup.url, backup: true },
  ], {
    policy: { balance: "failover", breaker: { consecutiveFailures: 2 } },
  }));
  try {
    await load(`${gw.url}/api/x`, 10, 2);
    assert.deepEqual(
      [first.requests, second.requests, backup.requests],
      [10, 0, 0],
    );
    first.status = 503;
    second.status = 503;
    // Each 503 is retried on the other primary, then both are ejected.
    const statuses = await load(`${gw.url}/api/x`, 10, 1);
    assert.ok(backup.requests > 0, "the backup never got traffic");
    assert.equal(statuses.at(-1), 200);
    assert.ok(first.requests - 10 <= 2 && second.requests <= 2);
  } finally {
    await gw.close();
  }
});

Deno.test("a dead instance is ejected after N failures; every client request still succeeds", async () => {
  await using a = CountingOrigin.start();
  await using b = CountingOrigin.start();
  const dead = deadUpstream();
  const gw = await startTestGateway(routeConfig([a.url, dead, b.url], {
    policy: {
      balance: "round_robin",
      retry: { baseMs: 0, maxMs: 0 },
      breaker: { consecutiveFailures: 3, openMs: 60_000 },
    },
  }));
  try {
    const statuses = await load(`${gw.url}/api/x`, 60, 1);
    assert.deepEqual(new Set(statuses), new Set([200]));
    const attempts = gw.accessLogs().reduce(
      (sum, line) => sum + Number(line.attempts),
      0,
    );
    // 60 answered requests, plus exactly one failed attempt per failure
    // before the breaker opened.
    assert.equal(attempts - 60, 3);
    const breakers = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
    assert.match(
      breakers,
      new RegExp(
        `gateway_breaker_state\\{route="test",upstream="${dead}"\\} 1`,
      ),
    );
  } finally {
    await gw.close();
  }
});

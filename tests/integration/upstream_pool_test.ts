/**
 * Upstream pools over loopback: three or four real origins counting what
 * they get, the gateway spreading, steering and ejecting between them.
 */
import assert from "node:assert/strict";
import { CountingOrigin, deadUpstream } from "../_fixtures/counting_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";
import { startGatewayProcess } from "../_fixtures/gateway_process.ts";
import { workersHandler } from "../../src/runtime/workers/workers_handler.ts";
import { validateConfig } from "../../src/config/validate_config.ts";

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

/** Polls `condition` every 20 ms, failing after `timeoutMs` (bounded). */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 20) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const HEALTH_CHECK = {
  path: "/healthz",
  intervalMs: 200,
  timeoutMs: 100,
  unhealthyThreshold: 1,
  healthyThreshold: 2,
};

Deno.test("a failing health check takes an instance out; passing again brings it back", async () => {
  await using a = CountingOrigin.start();
  await using b = CountingOrigin.start();
  const gw = await startTestGateway({
    admin: { token: "admin-token-0123456789" },
    ...routeConfig([a.url, b.url], {
      policy: { balance: "round_robin", healthCheck: HEALTH_CHECK },
    }),
  });
  const upstreams = async () =>
    (await (await fetch(`${gw.url}/_gateway/upstreams`, {
      headers: { authorization: "Bearer admin-token-0123456789" },
    })).json()).upstreams as { upstream: string; healthy: boolean }[];
  const healthOf = async (url: string) =>
    (await upstreams()).find((u) => u.upstream === url)?.healthy;
  try {
    await until("a first probe of b", () => b.probes > 0);
    b.healthy = false;
    await until("b unhealthy", async () => await healthOf(b.url) === false);
    const before = b.requests;
    await load(`${gw.url}/api/x`, 20, 2);
    assert.equal(b.requests, before, "an unhealthy upstream got traffic");
    const metrics = await (await fetch(`${gw.url}/_gateway/metrics`, {
      headers: { authorization: "Bearer admin-token-0123456789" },
    })).text();
    assert.match(
      metrics,
      new RegExp(
        `gateway_upstream_healthy\\{route="test",upstream="${b.url}"\\} 0`,
      ),
    );
    b.healthy = true;
    await until("b healthy again", async () => await healthOf(b.url) === true);
    await load(`${gw.url}/api/x`, 20, 1);
    assert.equal(b.requests - before, 10);
    assert.ok(
      gw.logs.some((l) => l.msg === "upstream health" && l.healthy === false),
    );
  } finally {
    await gw.close();
  }
});

Deno.test("a config reload keeps what the pool knew: a down upstream stays out, counts go on", async () => {
  await using a = CountingOrigin.start();
  await using b = CountingOrigin.start();
  // Probes 2 s apart: the traffic right after the reload comes before the
  // next one, so only what the reload carried over can keep b out.
  const healthCheck = { ...HEALTH_CHECK, intervalMs: 2_000 };
  const config = (retries: number) => ({
    admin: { token: "admin-token-0123456789" },
    ...routeConfig([a.url, b.url], {
      policy: { balance: "round_robin", healthCheck, retry: { retries } },
    }),
  });
  const gw = await startTestGateway(config(2));
  const metric = async (upstream: string) => {
    const text = await (await fetch(`${gw.url}/_gateway/metrics`, {
      headers: { authorization: "Bearer admin-token-0123456789" },
    })).text();
    const series =
      `gateway_upstream_requests_total{route="test",upstream="${upstream}"} `;
    const line = text.split("\n").find((l) => l.startsWith(series));
    return Number(line?.slice(series.length));
  };
  try {
    await load(`${gw.url}/api/x`, 10, 1);
    assert.equal(await metric(a.url), 5);
    b.healthy = false;
    await until("b probed unhealthy", () => b.probes >= 2, 5_000);
    await until("b out of the rotation", async () => {
      const before = b.requests;
      await load(`${gw.url}/api/x`, 2, 1);
      return b.requests === before;
    });
    const validated = validateConfig(config(1), () => undefined);
    assert.ok(validated.ok);
    gw.serving.gateway.reload(validated.config);
    const before = b.requests;
    await load(`${gw.url}/api/x`, 10, 1);
    assert.equal(b.requests, before, "the reload put a down upstream back");
    assert.ok(await metric(a.url) >= 15, "the attempt count went back");
  } finally {
    await gw.close();
  }
});

Deno.test("every upstream unhealthy: circuit_open, no attempt", async () => {
  await using a = CountingOrigin.start();
  a.healthy = false;
  const gw = await startTestGateway(
    routeConfig([a.url], { policy: { healthCheck: HEALTH_CHECK } }),
  );
  try {
    await until("a probed", () => a.probes > 0);
    await until("the route answering circuit_open", async () => {
      const response = await fetch(`${gw.url}/api/x`);
      const body = await response.text();
      return response.status === 503 && body.includes("circuit_open");
    });
    const before = a.requests;
    assert.equal(await get(`${gw.url}/api/x`), 503);
    assert.equal(a.requests, before);
  } finally {
    await gw.close();
  }
});

Deno.test("two gateway processes on one Deno KV probe each upstream once per interval between them", async () => {
  await using a = CountingOrigin.start();
  await using b = CountingOrigin.start();
  const config = routeConfig([a.url, b.url], {
    policy: {
      healthCheck: { ...HEALTH_CHECK, intervalMs: 500, timeoutMs: 200 },
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "gateway-health-" });
  const kvPath = `${dir}/shared.kv`;
  const started = await Promise.allSettled([
    startGatewayProcess({ config, kvPath }),
    startGatewayProcess({ config, kvPath }),
  ]);
  try {
    const [one, two] = started.map((result) => {
      if (result.status === "rejected") throw result.reason;
      return result.value;
    });
    // Count over whole intervals once both run.
    await until("a first probe", () => a.probes > 0, 10_000);
    const from = { a: a.probes, b: b.probes, at: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const intervals = (performance.now() - from.at) / 500;
    const probesA = a.probes - from.a;
    const probesB = b.probes - from.b;
    // Two instances probing on their own would make 2 per interval.
    assert.ok(
      probesA <= intervals + 2 && probesA >= intervals - 2,
      `${probesA} probes of a in ${intervals.toFixed(1)} intervals`,
    );
    assert.ok(Math.abs(probesA - probesB) <= 1, `${probesA} vs ${probesB}`);
    // Both instances read the verdict: b turns unhealthy on both.
    b.healthy = false;
    for (const gateway of [one, two]) {
      await gateway.waitForLog(
        (l) =>
          l.msg === "upstream health" && l.upstream === b.url &&
          l.healthy === false,
        5_000,
      );
    }
  } finally {
    for (const result of started) {
      if (result.status === "fulfilled") await result.value.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Workers: the Cron Trigger's scheduled handler runs the health checks", async () => {
  await using origin = CountingOrigin.start();
  const worker = workersHandler({
    bundledConfig: routeConfig([origin.url], {
      policy: { healthCheck: { ...HEALTH_CHECK, unhealthyThreshold: 1 } },
    }),
  });
  const env = {};
  const ctx = { waitUntil() {} };
  await worker.scheduled({}, env, ctx);
  assert.equal(origin.probes, 1);
  let response = await worker.fetch(
    new Request("http://gw.test/api/x"),
    env,
    ctx,
  );
  assert.equal(response.status, 200);
  await response.body?.cancel();
  origin.healthy = false;
  await worker.scheduled({}, env, ctx);
  assert.equal(origin.probes, 2);
  response = await worker.fetch(new Request("http://gw.test/api/x"), env, ctx);
  assert.equal(response.status, 503);
  assert.equal((await response.json()).code, "circuit_open");
});

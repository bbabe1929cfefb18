/**
 * Two real gateway processes (`deploy/deno/main.ts`) with different Deno KV
 * files, sharing only a real Redis (`GATEWAY_STORE=redis://…`): an open
 * reaches the other within 1 s (measured from both processes' logs), exactly
 * `halfOpenProbes` probes go out across both, a fleet rate limit is exact
 * across both, and when Redis dies both keep serving (ready 200 "degraded",
 * errors counted, logged once, rate limits per instance) until it is back,
 * when sharing resumes.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import {
  type GatewayProcess,
  startGatewayProcess,
} from "../_fixtures/gateway_process.ts";
import { freePort } from "../_fixtures/free_port.ts";
import {
  IGNORE_WITHOUT_REDIS,
  type RedisServer,
  startRedis,
} from "../_fixtures/redis_server.ts";

const ADMIN_TOKEN = "redis-fleet-admin-token";
const STORE_FAILING = "breaker store failing; continuing on local state";
const FLEET_LIMIT = 5;

function fleetConfig(
  upstream: string,
  breaker: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    admin: { token: ADMIN_TOKEN },
    routes: [{
      name: "shared",
      path: "/api/*",
      upstreams: [upstream],
      stripPrefix: "/api",
      policy: {
        retry: { retries: 0 },
        breaker: { size: 4, minCalls: 4, failureRate: 0.5, ...breaker },
      },
    }, {
      name: "limited",
      path: "/limited/*",
      upstreams: [upstream],
      stripPrefix: "/limited",
      // A day-long window: the test cannot straddle two windows in practice.
      policy: {
        rateLimit: {
          requests: FLEET_LIMIT,
          windowSeconds: 86_400,
          scope: "fleet",
        },
      },
    }],
  };
}

async function get(
  gateway: GatewayProcess,
  path: string,
): Promise<{ status: number; code?: string; body?: Record<string, unknown> }> {
  const res = await fetch(`${gateway.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    const body = await res.json();
    return { status: res.status, code: body.code, body };
  }
  await res.body?.cancel();
  return { status: res.status };
}

async function storeErrors(gateway: GatewayProcess): Promise<number> {
  const res = await fetch(`${gateway.baseUrl}/_gateway/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const match = /^gateway_breaker_store_errors_total\{[^}]*\} (\d+)$/m.exec(
    await res.text(),
  );
  return Number(match?.[1] ?? 0);
}

/** Asks `probe` every 20 ms until it returns a value, at most `timeoutMs`. */
async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const started = performance.now();
  for (let round = 0; round <= Math.ceil(timeoutMs / 20); round++) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Cannot see ${what}: not within ${timeoutMs} ms`);
}

async function openThrough(gateway: GatewayProcess): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const res = await get(gateway, "/api/status/500");
    if (res.status === 503 && res.code === "circuit_open") return;
    assert.equal(res.status, 500);
  }
  throw new Error("Cannot open the breaker: 10 failures did not open it");
}

/** When `gateway` logged the shared breaker's transition into `to` (epoch ms). */
async function transitionLoggedAt(
  gateway: GatewayProcess,
  to: string,
  timeoutMs: number,
): Promise<number> {
  const line = await gateway.waitForLog(
    (l) =>
      l.msg === "breaker transition" && l.route === "shared" && l.to === to,
    timeoutMs,
  );
  return Date.parse(String(line.time));
}

/** Redis and two gateways sharing it (each with its own KV file); stops all. */
async function withFleet(
  config: Record<string, unknown>,
  body: (
    a: GatewayProcess,
    b: GatewayProcess,
    redis: RedisServer,
  ) => Promise<void>,
): Promise<void> {
  await using redis = await startRedis();
  const env = { GATEWAY_STORE: redis.url };
  const started = await Promise.allSettled([
    startGatewayProcess({ config, env }),
    startGatewayProcess({ config, env }),
  ]);
  try {
    const [a, b] = started.map((result) => {
      if (result.status === "rejected") throw result.reason;
      return result.value;
    });
    await body(a, b, redis);
  } finally {
    for (const result of started) {
      if (result.status === "fulfilled") await result.value.stop();
    }
  }
}

Deno.test({
  name: "Redis: an open through A reaches B within 1 s (measured)",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    const origin = await Origin.start();
    try {
      await withFleet(
        fleetConfig(origin.url, { openMs: 30_000 }),
        async (a, b) => {
          assert.equal((await get(b, "/api/echo/b")).status, 200);
          await openThrough(a);
          const openedAt = await transitionLoggedAt(a, "open", 1_000);
          const seenAt = await transitionLoggedAt(b, "open", 1_500);
          const latencyMs = seenAt - openedAt;
          console.log(
            `redis sync latency: B saw A's open after ${latencyMs} ms`,
          );
          assert.ok(latencyMs < 1_000, `B saw the open after ${latencyMs} ms`);
          const before = origin.hits("/echo/b");
          assert.equal((await get(b, "/api/echo/b")).code, "circuit_open");
          assert.equal(origin.hits("/echo/b"), before, "B called the upstream");
        },
      );
    } finally {
      await origin.close();
    }
  },
});

Deno.test({
  name: "Redis: exactly halfOpenProbes probes across A and B, then both close",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    let healthy = false;
    let probesArrived = 0;
    let releaseProbes = () => {};
    const probesHeld = new Promise<void>((resolve) => releaseProbes = resolve);
    const arrivals: (() => void)[] = [];
    const upstream = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async () => {
        if (!healthy) return new Response("down", { status: 500 });
        probesArrived++;
        arrivals.shift()?.();
        await probesHeld;
        return new Response("up");
      },
    );
    try {
      await withFleet(
        fleetConfig(`http://127.0.0.1:${upstream.addr.port}`, {
          openMs: 1_000,
          halfOpenProbes: 2,
        }),
        async (a, b) => {
          await openThrough(a);
          await transitionLoggedAt(b, "open", 1_000);
          const opened = (await get(a, "/_gateway/breakers")).body!
            .breakers as { openUntil: number }[];
          await new Promise((resolve) =>
            setTimeout(
              resolve,
              Math.max(0, opened[0].openUntil - Date.now() + 50),
            )
          );
          healthy = true;
          // One request at a time, alternating: each either reaches the
          // upstream (and is held there) or is answered before the next goes.
          const held: Promise<{ status: number }>[] = [];
          const refused: { status: number; code?: string }[] = [];
          for (const gateway of [a, b, a, b, a, b]) {
            const arrived = new Promise<"arrived">((resolve) =>
              arrivals.push(() => resolve("arrived"))
            );
            const answer = get(gateway, "/api/x");
            const first = await Promise.race([arrived, answer]);
            if (first === "arrived") held.push(answer);
            else {
              arrivals.pop();
              refused.push(first);
            }
          }
          assert.equal(probesArrived, 2, "probes across both gateways");
          assert.equal(held.length, 2);
          assert.ok(
            refused.every((r) => r.status === 503 && r.code === "circuit_open"),
            JSON.stringify(refused),
          );
          releaseProbes();
          for (const answer of held) assert.equal((await answer).status, 200);
          await transitionLoggedAt(a, "closed", 2_000);
          await transitionLoggedAt(b, "closed", 2_000);
        },
      );
    } finally {
      releaseProbes();
      await upstream.shutdown();
    }
  },
});

Deno.test({
  name: "Redis: a fleet rate limit is exact across A and B",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    const origin = await Origin.start();
    try {
      await withFleet(fleetConfig(origin.url), async (a, b) => {
        const answers = await Promise.all(
          Array.from(
            { length: 12 },
            (_, i) => get(i % 2 === 0 ? a : b, "/limited/echo/x"),
          ),
        );
        const passed = answers.filter((r) => r.status === 200).length;
        const limited = answers.filter((r) =>
          r.status === 429 && r.code === "rate_limited"
        ).length;
        assert.equal(passed, FLEET_LIMIT);
        assert.equal(limited, 12 - FLEET_LIMIT);
        assert.equal(origin.hits("/echo/x"), FLEET_LIMIT);
      });
    } finally {
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "Redis killed: both serve on local state, ready 200 degraded, errors counted and logged once; restarted: sharing resumes",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    const origin = await Origin.start();
    try {
      await withFleet(
        fleetConfig(origin.url, { openMs: 30_000 }),
        async (a, b, redis) => {
          for (const gateway of [a, b]) {
            const ready = await get(gateway, "/_gateway/health/ready");
            assert.deepEqual([ready.status, ready.body?.status], [
              200,
              "ready",
            ]);
          }
          await redis.kill();
          for (const gateway of [a, b]) {
            await gateway.waitForLog((l) => l.msg === STORE_FAILING, 2_000);
            assert.equal((await get(gateway, "/api/echo/during")).status, 200);
            const ready = await get(gateway, "/_gateway/health/ready");
            assert.equal(ready.status, 200);
            assert.equal(ready.body?.status, "degraded");
            // The incident goes on (syncs keep failing): counted each time, logged once.
            await pollUntil(
              "3 store errors",
              3_000,
              async () => await storeErrors(gateway) >= 3 || undefined,
            );
            assert.equal(
              gateway.logs().filter((l) => l.msg === STORE_FAILING).length,
              1,
            );
          }
          // Fleet limits fall back to per-instance: each gateway allows the limit.
          for (const gateway of [a, b]) {
            const answers = [];
            for (let i = 0; i < FLEET_LIMIT + 1; i++) {
              answers.push((await get(gateway, "/limited/echo/outage")).status);
            }
            assert.deepEqual(answers, [
              ...Array(FLEET_LIMIT).fill(200),
              429,
            ]);
          }

          await redis.restart();
          for (const gateway of [a, b]) {
            await pollUntil("ready again", 10_000, async () => {
              const ready = await get(gateway, "/_gateway/health/ready");
              return ready.body?.status === "ready" || undefined;
            });
          }
          await openThrough(a);
          const openedAt = await transitionLoggedAt(a, "open", 1_000);
          const seenAt = await transitionLoggedAt(b, "open", 1_500);
          assert.ok(seenAt - openedAt < 1_000, `${seenAt - openedAt} ms`);
        },
      );
    } finally {
      await origin.close();
    }
  },
});

Deno.test({
  name:
    "Redis down at start-up: the gateway starts, serves degraded, and shares once Redis is up",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    const origin = await Origin.start();
    const port = freePort();
    const gateway = await startGatewayProcess({
      config: fleetConfig(origin.url),
      env: { GATEWAY_STORE: `redis://127.0.0.1:${port}` },
    });
    try {
      const listening = await gateway.waitForLog((l) => l.msg === "listening");
      assert.equal(listening.store, `redis://127.0.0.1:${port}/0`);
      assert.equal((await get(gateway, "/api/echo/x")).status, 200);
      await gateway.waitForLog((l) => l.msg === STORE_FAILING, 2_000);
      const ready = await get(gateway, "/_gateway/health/ready");
      assert.deepEqual([ready.status, ready.body?.status], [200, "degraded"]);
      await using _redis = await startRedis({ port });
      await pollUntil("ready once Redis is up", 10_000, async () => {
        const res = await get(gateway, "/_gateway/health/ready");
        return res.body?.status === "ready" || undefined;
      });
    } finally {
      await gateway.stop();
      await origin.close();
    }
  },
});

/**
 * Two real gateway processes (`deploy/deno/main.ts`) on one Deno KV file:
 * a breaker opened through one rejects on the other within 1 s, half-open
 * probes across both stay within `halfOpenProbes`, and a KV store broken
 * under a running process leaves it serving on local state, logged once per
 * incident.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Origin } from "../_fixtures/origin.ts";
import {
  type GatewayProcess,
  startGatewayProcess,
} from "../_fixtures/gateway_process.ts";

const ADMIN_TOKEN = "multi-instance-admin-token";
const STORE_FAILING = "breaker store failing; continuing on local state";

/** One route `/api/*` → `upstream`, no retries, a breaker that opens after 4 failures of 4. */
function sharedConfig(
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
    }],
  };
}

/** Status and (for gateway problems) `code` of one request; the body is consumed. */
async function get(
  gateway: GatewayProcess,
  path: string,
): Promise<{ status: number; code?: string; retryAfter: string | null }> {
  const res = await fetch(`${gateway.baseUrl}${path}`);
  const retryAfter = res.headers.get("retry-after");
  if (res.headers.get("content-type")?.startsWith("application/problem+json")) {
    return { status: res.status, code: (await res.json()).code, retryAfter };
  }
  await res.body?.cancel();
  return { status: res.status, retryAfter };
}

interface BreakersReply {
  breakers: { state: string; epoch: number; openUntil: number | null }[];
  store: { healthy: boolean; errors: number; lastError: string | null };
}

async function breakers(gateway: GatewayProcess): Promise<BreakersReply> {
  const res = await fetch(`${gateway.baseUrl}/_gateway/breakers`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

/**
 * Asks `probe` every 20 ms until it returns a value, for at most
 * `timeoutMs`; returns it with the time it took.
 */
async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  for (let round = 0; round <= Math.ceil(timeoutMs / 20); round++) {
    const value = await probe();
    if (value !== undefined) {
      return { value, elapsedMs: performance.now() - started };
    }
    if (performance.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Cannot see ${what}: not within ${timeoutMs} ms`);
}

/** Sends failing requests through `gateway` until it answers 503 `circuit_open`. */
async function openThrough(
  gateway: GatewayProcess,
  failingPath: string,
): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const res = await get(gateway, failingPath);
    if (res.status === 503 && res.code === "circuit_open") return;
    assert.equal(res.status, 500);
  }
  throw new Error("Cannot open the breaker: 10 failures did not open it");
}

/** Two gateways on one KV file in a fresh temp dir; closes both and the dir. */
async function withTwoGateways(
  config: Record<string, unknown>,
  body: (a: GatewayProcess, b: GatewayProcess) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-multi-" });
  const kvPath = `${dir}/shared.kv`;
  const started = await Promise.allSettled([
    startGatewayProcess({ config, kvPath }),
    startGatewayProcess({ config, kvPath }),
  ]);
  try {
    const [a, b] = started.map((result) => {
      if (result.status === "rejected") throw result.reason;
      return result.value;
    });
    await body(a, b);
  } finally {
    for (const result of started) {
      if (result.status === "fulfilled") await result.value.stop();
    }
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a breaker opened through A rejects on B within 1 s, without B calling the upstream after", async () => {
  await using origin = await Origin.start();
  await withTwoGateways(
    sharedConfig(origin.url, { openMs: 30_000 }),
    async (a, b) => {
      assert.equal((await get(b, "/api/echo/b")).status, 200);
      await openThrough(a, "/api/status/500");

      // From now on every B answer is either a call B let through (200,
      // one upstream request each: no retries) or the shared open.
      let passedThrough = 1;
      const { value: rejected, elapsedMs } = await pollUntil(
        "B reject",
        1_500,
        async () => {
          const res = await get(b, "/api/echo/b");
          if (res.status === 200) passedThrough++;
          else return res;
        },
      );
      assert.equal(rejected.status, 503);
      assert.equal(rejected.code, "circuit_open");
      assert.ok(Number(rejected.retryAfter) > 0, "no Retry-After");
      assert.ok(elapsedMs < 1_000, `B rejected after ${elapsedMs} ms`);
      assert.equal(origin.hits("/echo/b"), passedThrough);

      for (let i = 0; i < 5; i++) {
        assert.equal((await get(b, "/api/echo/b")).code, "circuit_open");
      }
      assert.equal(
        origin.hits("/echo/b"),
        passedThrough,
        "B called the upstream after it rejected",
      );
      const [viewA, viewB] = [
        (await breakers(a)).breakers[0],
        (await breakers(b)).breakers[0],
      ];
      assert.equal(viewB.state, "open");
      assert.equal(viewB.epoch, viewA.epoch);
      assert.equal(viewB.openUntil, viewA.openUntil);
    },
  );
});

Deno.test("half-open across A and B lets at most halfOpenProbes probes reach the upstream; both close", async () => {
  let healthy = false;
  let probesArrived = 0;
  let releaseProbes = () => {};
  const probesHeld = new Promise<void>((resolve) => releaseProbes = resolve);
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      if (!healthy) return new Response("down", { status: 500 });
      probesArrived++;
      await probesHeld;
      return new Response("up");
    },
  );
  try {
    await withTwoGateways(
      sharedConfig(`http://127.0.0.1:${upstream.addr.port}`, {
        openMs: 1_000,
        halfOpenProbes: 2,
      }),
      async (a, b) => {
        await openThrough(a, "/api/x");
        const opened = (await breakers(a)).breakers[0];
        assert.equal(opened.state, "open");
        await pollUntil("B open", 1_000, async () => {
          const view = (await breakers(b)).breakers[0];
          return view.state === "open" ? view : undefined;
        });
        // The breaker says when it turns half-open: wait for that moment.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, opened.openUntil! - Date.now() + 50))
        );

        healthy = true;
        let answered = 0;
        const requests = [a, b, a, b, a, b, a, b].map((gateway) =>
          get(gateway, "/api/x").finally(() => answered++)
        );
        // Every request is either held at the upstream or answered by a
        // gateway; once all 8 are accounted for, no more probe can come.
        await pollUntil(
          "all 8 requests held or answered",
          5_000,
          () => Promise.resolve(probesArrived + answered === 8 || undefined),
        );
        assert.ok(probesArrived >= 1, "no probe went out");
        assert.ok(probesArrived <= 2, `${probesArrived} probes went out`);
        releaseProbes();
        const results = await Promise.all(requests);
        const probes = results.filter((r) => r.status === 200);
        const rejected = results.filter((r) => r.status !== 200);
        assert.equal(probes.length, probesArrived);
        assert.ok(rejected.every((r) => r.code === "circuit_open"));

        // A slot lost to a compare-and-set race is still free: traffic takes it.
        await pollUntil("A closed", 2_000, async () => {
          if ((await get(a, "/api/x")).status !== 200) return undefined;
          const view = (await breakers(a)).breakers[0];
          return view.state === "closed" ? view : undefined;
        });
        await pollUntil("B closed", 1_000, async () => {
          const view = (await breakers(b)).breakers[0];
          return view.state === "closed" ? view : undefined;
        });
        assert.equal((await get(b, "/api/x")).status, 200);
      },
    );
  } finally {
    releaseProbes();
    await upstream.shutdown();
  }
});

Deno.test("a fleet rate limit is exact across two processes on one Deno KV file", async () => {
  const origin = await Origin.start();
  try {
    const config = sharedConfig(origin.url);
    const [route] = config.routes as Record<string, unknown>[];
    route.policy = {
      // A day-long window: the test cannot straddle two windows in practice.
      rateLimit: { requests: 5, windowSeconds: 86_400, scope: "fleet" },
    };
    await withTwoGateways(config, async (a, b) => {
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => get(i % 2 ? a : b, "/api/echo/x")),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [
        ...Array(5).fill(200),
        ...Array(7).fill(429),
      ]);
      assert.equal(origin.hits("/echo/x"), 5);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("a Deno KV store broken under a running gateway: it serves on local state, ready but degraded, logged once per incident", async () => {
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "gateway-store-" });
  const kvPath = `${dir}/broken.kv`;
  let gateway: GatewayProcess | undefined;
  // A second connection to the KV's SQLite file: renaming Deno KV's table
  // makes every read and write of the running gateway fail, for real.
  let sqlite: DatabaseSync | undefined;
  try {
    gateway = await startGatewayProcess({
      config: sharedConfig(origin.url, { openMs: 30_000 }),
      kvPath,
    });
    const running = gateway;
    assert.equal((await get(running, "/_gateway/health/ready")).status, 200);
    sqlite = new DatabaseSync(kvPath);
    sqlite.exec("PRAGMA busy_timeout = 2000");
    const failingLogs = () =>
      running.logs().filter((line) => line.msg === STORE_FAILING);

    sqlite.exec("ALTER TABLE kv RENAME TO kv_broken");
    const logged = await running.waitForLog((l) => l.msg === STORE_FAILING);
    assert.equal(logged.level, "error");
    assert.equal((await get(running, "/api/echo/during")).status, 200);
    const ready = await fetch(`${running.baseUrl}/_gateway/health/ready`);
    // Still ready: a shared-store outage must not unready the whole fleet.
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, "degraded");
    const { store } = await breakers(running);
    assert.equal(store.healthy, false);
    assert.match(String(store.lastError), /no such table/);

    // Local state still decides: failures open the breaker without the store.
    await openThrough(running, "/api/status/500");
    // The incident goes on (syncs every 250 ms keep failing): counted each time, logged once.
    await pollUntil("3 store errors counted", 3_000, async () => {
      const res = await fetch(`${running.baseUrl}/_gateway/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const match = /^gateway_breaker_store_errors_total\{[^}]*\} (\d+)$/m
        .exec(await res.text());
      return Number(match?.[1]) >= 3 || undefined;
    });
    assert.equal(failingLogs().length, 1);

    sqlite.exec("ALTER TABLE kv_broken RENAME TO kv");
    await pollUntil("ready again", 2_000, async () => {
      const res = await fetch(`${running.baseUrl}/_gateway/health/ready`);
      return (await res.json()).status === "ready" || undefined;
    });
    assert.equal((await breakers(running)).store.healthy, true);

    sqlite.exec("ALTER TABLE kv RENAME TO kv_broken");
    await pollUntil(
      "a second incident logged",
      2_000,
      () => Promise.resolve(failingLogs().length === 2 || undefined),
    );
    sqlite.exec("ALTER TABLE kv_broken RENAME TO kv");
  } finally {
    sqlite?.close();
    await gateway?.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

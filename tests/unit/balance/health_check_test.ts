import assert from "node:assert/strict";
import {
  HealthChecker,
  nextHealth,
} from "../../../src/balance/health_check.ts";
import { UpstreamPool } from "../../../src/balance/upstream_pool.ts";
import { validateConfig } from "../../../src/config/validate_config.ts";
import { BreakerBoard } from "../../../src/resilience/breaker_board.ts";
import { MemoryBreakerStore } from "../../../src/runtime/memory/breaker_store.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

const POLICY = { unhealthyThreshold: 2, healthyThreshold: 3 };

Deno.test("nextHealth: out after N failures in a row, back after M passes in a row", () => {
  let health = nextHealth(undefined, false, POLICY, 0);
  assert.equal(health.healthy, true);
  health = nextHealth(health, true, POLICY, 1); // a pass breaks the run
  health = nextHealth(health, false, POLICY, 2);
  assert.equal(health.healthy, true);
  health = nextHealth(health, false, POLICY, 3);
  assert.equal(health.healthy, false);
  health = nextHealth(health, true, POLICY, 4);
  health = nextHealth(health, true, POLICY, 5);
  assert.equal(health.healthy, false);
  health = nextHealth(health, true, POLICY, 6);
  assert.deepEqual(health, {
    healthy: true,
    passes: 3,
    failures: 0,
    checkedAt: 6,
  });
});

function instance(
  store: MemoryBreakerStore,
  clock: FakeClock,
  probes: string[],
  up: () => boolean,
) {
  const result = validateConfig({
    routes: [{
      name: "users",
      path: "/users/*",
      upstreams: ["http://a.test", "http://b.test"],
      policy: {
        healthCheck: {
          path: "/healthz",
          intervalMs: 1_000,
          timeoutMs: 500,
          unhealthyThreshold: 1,
          healthyThreshold: 1,
        },
      },
    }],
  }, () => undefined);
  assert.ok(result.ok);
  const route = result.config.routes[0];
  const board = new BreakerBoard({ clock, store });
  for (const upstream of route.upstreams) {
    board.register(route.name, upstream.url, route.policy.breaker);
  }
  const pool = new UpstreamPool(route, { board, clock, random: () => 0 });
  const checker = new HealthChecker({
    store,
    clock,
    holder: crypto.randomUUID(),
    schedule: "timers",
    fetch: (input) => {
      probes.push(String(input));
      const ok = !String(input).startsWith("http://b.test") || up();
      return Promise.resolve(new Response(null, { status: ok ? 200 : 503 }));
    },
  });
  checker.setPools([pool]);
  return { pool, checker, board };
}

Deno.test("two instances on one store probe each upstream once per interval between them; both see the verdict", async () => {
  const store = new MemoryBreakerStore();
  const clock = new FakeClock(0);
  const probes: string[] = [];
  let bUp = true;
  const one = instance(store, clock, probes, () => bUp);
  const two = instance(store, clock, probes, () => bUp);
  try {
    await clock.advanceAsync(0);
    for (let i = 0; i < 4; i++) await clock.advanceAsync(1_000);
    // Rounds at 0, 1, 2, 3 and 4 s: five probes of each upstream in all.
    assert.equal(
      probes.filter((url) => url.startsWith("http://a.test")).length,
      5,
    );
    assert.deepEqual(probes.slice(0, 2), [
      "http://a.test/healthz",
      "http://b.test/healthz",
    ]);
    bUp = false;
    await clock.advanceAsync(1_000);
    await clock.advanceAsync(1_000);
    assert.deepEqual([...one.pool.healthy], [1, 0]);
    assert.deepEqual([...two.pool.healthy], [1, 0]);
    for (let i = 0; i < 10; i++) {
      const admission = await one.pool.admit(-1);
      assert.ok(admission.allowed);
      assert.equal(admission.index, 0);
      admission.release();
    }
    bUp = true;
    await clock.advanceAsync(1_000);
    await clock.advanceAsync(1_000);
    assert.deepEqual([...two.pool.healthy], [1, 1]);
  } finally {
    await one.checker.close();
    await two.checker.close();
    await one.board.close();
    await two.board.close();
  }
});

/**
 * `rateLimit.scope` through the whole gateway, in process: `fleet` counts in
 * the breaker store shared by two gateways, `instance` counts per gateway,
 * a runtime's own fleet limit (Workers' binding) replaces the store's
 * counter, and a store without counters (Workers KV) counts per instance
 * with a warning at start.
 */
import assert from "node:assert/strict";
import type { AdvisoryBreakerStore } from "../../../src/resilience/breaker_store.ts";
import { MemoryBreakerStore } from "../../../src/runtime/memory/breaker_store.ts";
import { inProcessGateway } from "../../_fixtures/in_process.ts";

function limitedConfig(scope: "fleet" | "instance"): Record<string, unknown> {
  return {
    routes: [{
      name: "limited",
      path: "/limited/*",
      upstreams: ["http://upstream.test"],
      policy: { rateLimit: { requests: 1, windowSeconds: 60, scope } },
    }],
  };
}

const ok = () => new Response("ok");

async function status(
  gateway: ReturnType<typeof inProcessGateway>,
): Promise<number> {
  const res = await gateway.request("/limited/x");
  await res.body?.cancel();
  return res.status;
}

Deno.test("scope fleet: two gateways on one store share one count; scope instance: each its own", async () => {
  const store = new MemoryBreakerStore();
  await using a = inProcessGateway(limitedConfig("fleet"), ok, {
    breakerStore: store,
  });
  await using b = inProcessGateway(limitedConfig("fleet"), ok, {
    breakerStore: store,
  });
  assert.deepEqual([await status(a), await status(b)], [200, 429]);

  const shared = new MemoryBreakerStore();
  await using c = inProcessGateway(limitedConfig("instance"), ok, {
    breakerStore: shared,
  });
  await using d = inProcessGateway(limitedConfig("instance"), ok, {
    breakerStore: shared,
  });
  assert.deepEqual(
    [await status(c), await status(d), await status(c)],
    [200, 200, 429],
  );
});

Deno.test("a runtime's fleet limit (Workers' binding) is asked instead of the store", async () => {
  const asked: string[] = [];
  await using gateway = inProcessGateway(limitedConfig("fleet"), ok, {
    fleetRateLimit: (route, policy) => ({
      take(key) {
        asked.push(`${route}:${policy.requests}:${key}`);
        return Promise.resolve({ allowed: false, retryAfterMs: 5_000 });
      },
    }),
  });
  const res = await gateway.request("/limited/x");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "5");
  await res.body?.cancel();
  assert.deepEqual(asked, ["limited:1:unknown"]);
});

Deno.test("a store without counters (Workers KV): fleet limits count per instance, said once at start", async () => {
  const advisory: AdvisoryBreakerStore = {
    capabilities: { atomic: false, writeDelayMs: 0 },
    get: (keys) => Promise.resolve(keys.map(() => null)),
    set: () => Promise.resolve(),
  };
  const lines: string[] = [];
  await using gateway = inProcessGateway(limitedConfig("fleet"), ok, {
    breakerStore: advisory,
    logSink: (line) => lines.push(line),
  });
  const warnings = lines.map((line) => JSON.parse(line)).filter((line) =>
    line.level === "warn" && /rateLimit\.scope fleet/.test(line.msg)
  );
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].route, "limited");
  assert.deepEqual([await status(gateway), await status(gateway)], [200, 429]);
});

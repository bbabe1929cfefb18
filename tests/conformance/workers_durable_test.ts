import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import {
  kvOnlyToml,
  objectClientToml,
  rateLimitBindingToml,
  shippedToml,
} from "./_harness/worker_toml.ts";
import { startWranglerDev, type WranglerDev } from "./_harness/wrangler_dev.ts";
import { assertProblem, send } from "./cases/http.ts";
import { ADMIN_TOKEN, conformanceConfig } from "./target.ts";

// Two gateways under local workerd, each its own `wrangler dev` (so its own
// isolate and breaker board): A is the shipped Worker and owns the
// BreakerStateObject; B binds A's object class through the dev registry, the
// way every isolate of a deployed gateway reaches the one object.

/** Requests route "fleet" allows per client across every gateway (a day-long window). */
const FLEET_LIMIT = 3;
/** How long the shared breaker stays open before half-open. */
const OPEN_MS = 2000;
/** How long the origin holds the half-open probe: every other admission happens meanwhile. */
const PROBE_HOLD_MS = 2000;
/** Bound on polling for a remote transition (the Worker syncs once a second). */
const SYNC_POLLS = 50;
const SYNC_POLL_PAUSE_MS = 100;

interface BreakerView {
  route: string;
  state: string;
  epoch: number;
  openUntil: number | null;
}

Deno.test("workers: two gateways on one Durable Object share the open and the half-open probe allowance", async (t) => {
  const origin = await Origin.start();
  const registry = await Deno.makeTempDir({ prefix: "gateway-registry-" });
  const suffix = crypto.randomUUID().slice(0, 8);
  const workers: WranglerDev[] = [];
  try {
    const config = JSON.stringify(sharedConfig(origin.url));
    const a = await startWranglerDev(config, {
      toml: await shippedToml(`gateway-a-${suffix}`),
      registryDir: registry,
    });
    workers.push(a);
    const b = await startWranglerDev(config, {
      toml: await objectClientToml(
        `gateway-b-${suffix}`,
        `gateway-a-${suffix}`,
      ),
      registryDir: registry,
    });
    workers.push(b);

    await t.step("an open in A reaches B through the object", async () => {
      await openSharedBreaker(a, origin);
      const opened = await sharedView(a);
      assert.equal(opened.state, "open");
      const seen = await untilRemote(b, (view) => view.state === "open");
      assert.equal(seen.epoch, opened.epoch, "the same transition");
      assert.equal(seen.openUntil, opened.openUntil);

      const before = origin.requests.length;
      const res = await send(b, "GET", "/shared/echo?from=b");
      assertProblem(res, 503, "circuit_open");
      assert.equal(origin.requests.length, before, "B spared the origin");
      await assertStoreHealthy(a);
      await assertStoreHealthy(b);
    });

    await t.step(
      "half-open: one probe across both gateways, then closed in both",
      async () => {
        const { openUntil } = await sharedView(a);
        assert.ok(openUntil !== null);
        // Half-open starts at a known instant: wait for it, not for luck.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, openUntil - Date.now()) + 50)
        );
        const targets = [a, b, a, b, a, b];
        const answers = await Promise.all(targets.map((target, i) =>
          send(
            target,
            "GET",
            `/shared/slow-headers?ms=${PROBE_HOLD_MS}&probe=${i}`,
          )
        ));
        const probes = origin.requests.filter((r) =>
          r.search.includes("probe=")
        );
        assert.equal(probes.length, 1, "halfOpenProbes = 1 across both");
        assert.deepEqual(
          answers.map((res) => res.status).sort(),
          [200, 503, 503, 503, 503, 503],
        );
        for (const res of answers.filter((res) => res.status === 503)) {
          assertProblem(res, 503, "circuit_open");
        }
        await untilRemote(a, (view) => view.state === "closed");
        await untilRemote(b, (view) => view.state === "closed");
      },
    );

    await t.step(
      "a fleet rate limit counts across both gateways in the object",
      async () => {
        const statuses = [];
        for (const target of [a, b, a, b, a, b]) {
          statuses.push((await send(target, "GET", "/fleet/echo")).status);
        }
        assert.deepEqual(statuses, [
          ...Array(FLEET_LIMIT).fill(200),
          ...Array(6 - FLEET_LIMIT).fill(429),
        ]);
      },
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Deno.remove(registry, { recursive: true });
    await origin.close();
  }
});

Deno.test("workers: with GATEWAY_RATE_LIMITER bound, fleet rate limits are the binding's", async () => {
  const origin = await Origin.start();
  const registry = await Deno.makeTempDir({ prefix: "gateway-registry-" });
  try {
    const worker = await startWranglerDev(
      JSON.stringify(sharedConfig(origin.url)),
      {
        toml: await rateLimitBindingToml(
          `gateway-rl-${crypto.randomUUID().slice(0, 8)}`,
          { limit: 2, period: 60 },
        ),
        registryDir: registry,
      },
    );
    try {
      // The binding's limit (2) decides, not the route's (FLEET_LIMIT).
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await send(worker, "GET", "/fleet/echo")).status);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      const refused = await send(worker, "GET", "/fleet/echo");
      assertProblem(refused, 429, "rate_limited");
    } finally {
      await worker.stop();
    }
  } finally {
    await Deno.remove(registry, { recursive: true });
    await origin.close();
  }
});

Deno.test("workers: without GATEWAY_BREAKERS, the open transition lands in GATEWAY_KV", async () => {
  const origin = await Origin.start();
  const registry = await Deno.makeTempDir({ prefix: "gateway-registry-" });
  try {
    const worker = await startWranglerDev(
      JSON.stringify(sharedConfig(origin.url)),
      {
        toml: await kvOnlyToml(`gateway-kv-${crypto.randomUUID().slice(0, 8)}`),
        registryDir: registry,
      },
    );
    try {
      await openSharedBreaker(worker, origin);
      // The advisory store writes each transition to the namespace other
      // isolates read; the write may be held up to a second (debouncing).
      const keys = await worker.kvKeys();
      assert.ok(
        keys.some((key) => key.includes("shared|") && key.includes(origin.url)),
        `keys: ${keys.join(", ")}`,
      );
    } finally {
      await worker.stop();
    }
  } finally {
    await Deno.remove(registry, { recursive: true });
    await origin.close();
  }
});

/**
 * The conformance config plus route "shared" (a breaker that opens after 4
 * failures for {@linkcode OPEN_MS}, one probe) and route "fleet" (a fleet
 * rate limit of {@linkcode FLEET_LIMIT}).
 */
function sharedConfig(originUrl: string): Record<string, unknown> {
  const config = conformanceConfig(originUrl);
  return {
    ...config,
    routes: [
      ...(config.routes as unknown[]),
      {
        name: "shared",
        path: "/shared/*",
        upstreams: [originUrl],
        stripPrefix: "/shared",
        policy: {
          retry: { retries: 0 },
          breaker: {
            size: 4,
            minCalls: 4,
            failureRate: 0.5,
            openMs: OPEN_MS,
            halfOpenProbes: 1,
          },
        },
      },
      {
        name: "fleet",
        path: "/fleet/*",
        upstreams: [originUrl],
        stripPrefix: "/fleet",
        policy: {
          rateLimit: {
            requests: FLEET_LIMIT,
            windowSeconds: 86_400,
            scope: "fleet",
          },
        },
      },
    ],
  };
}

/** Fails route "shared" on `worker` until it answers 503 `circuit_open` (bounded). */
async function openSharedBreaker(
  worker: WranglerDev,
  origin: Origin,
): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const res = await send(worker, "GET", `/shared/status/500?n=${i}`);
    if (res.status === 503) {
      assertProblem(res, 503, "circuit_open");
      return;
    }
    assert.equal(res.status, 500);
  }
  assert.fail(
    `still closed after 8 failures (${origin.requests.length} origin requests)`,
  );
}

async function sharedView(worker: WranglerDev): Promise<BreakerView> {
  const res = await fetch(`${worker.baseUrl}/_gateway/breakers`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  const body = await res.json() as { breakers: BreakerView[] };
  const view = body.breakers.find((each) => each.route === "shared");
  assert.ok(view !== undefined, "route shared has a breaker");
  return view;
}

/**
 * Sends traffic to another route of `worker` (a Worker syncs its board on
 * traffic, never on a timer) until its view of "shared" satisfies `wanted`.
 */
async function untilRemote(
  worker: WranglerDev,
  wanted: (view: BreakerView) => boolean,
): Promise<BreakerView> {
  let view = await sharedView(worker);
  for (let poll = 0; poll < SYNC_POLLS && !wanted(view); poll++) {
    const res = await send(worker, "GET", "/plain/echo?sync");
    assert.equal(res.status, 200);
    await new Promise((resolve) => setTimeout(resolve, SYNC_POLL_PAUSE_MS));
    view = await sharedView(worker);
  }
  assert.ok(wanted(view), `after ${SYNC_POLLS} polls: ${JSON.stringify(view)}`);
  return view;
}

async function assertStoreHealthy(worker: WranglerDev): Promise<void> {
  const res = await fetch(`${worker.baseUrl}/_gateway/breakers`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const body = await res.json() as { store: { errors: number } };
  assert.equal(body.store.errors, 0, JSON.stringify(body.store));
}

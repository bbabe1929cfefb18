import assert from "node:assert/strict";
import {
  isRetryEligible,
  type RetryRules,
  RetryState,
} from "../../../src/pipeline/retry_state.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

interface Pick {
  upstream: number;
  released: boolean;
  release(): void;
}

function pick(upstream: number): Pick {
  return {
    upstream,
    released: false,
    release() {
      this.released = true;
    },
  };
}

function rules(overrides: Partial<RetryRules<Pick>> = {}): RetryRules<Pick> {
  return {
    retry: {
      retries: 2,
      baseMs: 100,
      maxMs: 1_000,
      on: ["network", "timeout", 503],
      retryAfterCapMs: 5_000,
      budget: { ratio: 0.2, minPerSecond: 10 },
      replayBufferBytes: 65_536,
    },
    retryStatuses: new Set([503]),
    retryOnNetwork: true,
    retryOnTimeout: true,
    clock: new FakeClock(0),
    random: () => 1,
    admit: (_attempt, failed) => pick(failed.upstream + 1),
    tryAcquireRetry: () => true,
    onBudgetDenied: () => {},
    ...overrides,
  };
}

const status = (code: number, headers: HeadersInit = {}) =>
  new Response(null, { status: code, headers });

Deno.test("retries a listed status with exponential backoff until the limit", async () => {
  const state = new RetryState(rules(), { eligible: true, deadline: 60_000 });
  const first = await state.shouldRetryHeaders(status(503), true, pick(0));
  assert.deepEqual([first?.delayMs, first?.admission.upstream], [100, 1]);
  const second = await state.shouldRetryHeaders(
    status(503),
    true,
    first!.admission,
  );
  assert.deepEqual([second?.delayMs, second?.admission.upstream], [200, 2]);
  assert.equal(
    await state.shouldRetryHeaders(status(503), true, pick(2)),
    null,
  );
});

Deno.test("an unlisted status, an ineligible request or an unreplayable body is final", async () => {
  const state = new RetryState(rules(), { eligible: true, deadline: 60_000 });
  assert.equal(state.shouldRetryHeaders(status(500), true, pick(0)), null);
  assert.equal(
    await state.shouldRetryHeaders(status(503), false, pick(0)),
    null,
  );
  const post = new RetryState(rules(), { eligible: false, deadline: 60_000 });
  assert.equal(
    await post.shouldRetryReset({ kind: "network" }, true, pick(0)),
    null,
  );
});

Deno.test("Retry-After: waited out up to the cap, final above it", async () => {
  const state = new RetryState(rules(), { eligible: true, deadline: 60_000 });
  const plan = await state.shouldRetryHeaders(
    status(503, { "retry-after": "3" }),
    true,
    pick(0),
  );
  assert.equal(plan?.delayMs, 3_000);
  assert.equal(
    state.shouldRetryHeaders(
      status(503, { "retry-after": "6" }),
      true,
      pick(0),
    ),
    null,
  );
});

Deno.test("no retry whose wait would reach the deadline", async () => {
  const state = new RetryState(rules(), { eligible: true, deadline: 100 });
  assert.equal(
    await state.shouldRetryReset({ kind: "timeout" }, true, pick(0)),
    null,
  );
});

Deno.test("reset kinds follow retry.on", async () => {
  const state = new RetryState(rules({ retryOnTimeout: false }), {
    eligible: true,
    deadline: 60_000,
  });
  assert.equal(
    state.shouldRetryReset({ kind: "timeout" }, true, pick(0)),
    null,
  );
  assert.ok(await state.shouldRetryReset({ kind: "network" }, true, pick(0)));
});

Deno.test("every breaker refusing, or no budget left: no retry, admission given back", async () => {
  const refused = new RetryState(rules({ admit: () => null }), {
    eligible: true,
    deadline: 60_000,
  });
  assert.equal(
    await refused.shouldRetryReset({ kind: "network" }, true, pick(0)),
    null,
  );
  let denied = 0;
  const admitted: Pick[] = [];
  const broke = new RetryState(
    rules({
      admit: () => {
        admitted.push(pick(1));
        return admitted[0];
      },
      tryAcquireRetry: () => false,
      onBudgetDenied: () => denied++,
    }),
    { eligible: true, deadline: 60_000 },
  );
  assert.equal(
    await broke.shouldRetryReset({ kind: "network" }, true, pick(0)),
    null,
  );
  assert.equal(denied, 1);
  assert.equal(admitted[0].released, true);
});

Deno.test("eligible: idempotent methods or an Idempotency-Key, and retries configured", () => {
  const get = new Request("http://x/");
  const post = new Request("http://x/", { method: "POST" });
  const keyed = new Request("http://x/", {
    method: "POST",
    headers: { "idempotency-key": "k" },
  });
  assert.deepEqual(
    [
      isRetryEligible(get, 1),
      isRetryEligible(post, 1),
      isRetryEligible(keyed, 1),
      isRetryEligible(get, 0),
    ],
    [true, false, true, false],
  );
});

import assert from "node:assert/strict";
import { header } from "../../_fixtures/raw_client.ts";
import type { ConformanceTarget } from "../target.ts";
import { assertProblem, send, textOf } from "./http.ts";
import { waitForCancel } from "./streaming.ts";

/**
 * No response headers within `headersMs` (300 ms on this route): 504
 * `upstream_timeout`, well before the origin would have answered, and the
 * abandoned upstream request is cancelled.
 */
export async function timesOutSlowHeaders(
  target: ConformanceTarget,
): Promise<void> {
  const started = performance.now();
  const res = await send(target, "GET", "/timeout/slow-headers?ms=5000");
  const elapsed = performance.now() - started;
  assertProblem(res, 504, "upstream_timeout");
  assert.ok(elapsed < 3000, `answered after ${elapsed.toFixed(0)} ms`);
  await waitForCancel(target.origin, "/slow-headers");
}

/** A GET that met a 503 is tried again: the origin sees it twice. */
export async function retriesAGetOn503(
  target: ConformanceTarget,
): Promise<void> {
  const key = `get-${crypto.randomUUID()}`;
  const res = await send(target, "GET", `/retry/flaky?fail=1&key=${key}`);
  assert.equal(res.status, 200, textOf(res));
  assert.equal(textOf(res), "ok");
  assert.equal(hitsWith(target, key), 2);
}

/** A POST (not idempotent, no Idempotency-Key) is never retried. */
export async function neverRetriesAPost(
  target: ConformanceTarget,
): Promise<void> {
  const key = `post-${crypto.randomUUID()}`;
  const res = await send(
    target,
    "POST",
    `/retry/flaky?fail=1&key=${key}`,
    { "content-type": "text/plain" },
    "payload",
  );
  assert.equal(res.status, 503, "the upstream's 503 passes through");
  assert.equal(hitsWith(target, key), 1);
}

/**
 * Failures open the route's breaker (minCalls 4, failureRate 0.5); then the
 * gateway answers 503 `circuit_open` with `Retry-After` without touching the
 * origin.
 */
export async function opensTheBreaker(
  target: ConformanceTarget,
): Promise<void> {
  const { origin } = target;
  let failures = 0;
  let open: Awaited<ReturnType<typeof send>> | undefined;
  // The breaker may record an outcome just after the client got its answer,
  // so allow a couple of calls past minCalls before it must be open.
  for (let i = 0; i < 6 && open === undefined; i++) {
    const before = origin.requests.length;
    const res = await send(target, "GET", `/breaker/status/500?n=${i}`);
    if (res.status === 503) {
      assert.equal(
        origin.requests.length,
        before,
        "an open breaker let a call through",
      );
      open = res;
    } else {
      assert.equal(res.status, 500, textOf(res));
      failures++;
    }
  }
  assert.ok(open !== undefined, `still closed after ${failures} failures`);
  assert.ok(failures >= 4, `opened after only ${failures} calls`);
  assertProblem(open, 503, "circuit_open");
  assert.ok(header(open, "retry-after") !== undefined, "Retry-After is set");

  const before = origin.requests.length;
  const res = await send(target, "GET", "/breaker/echo");
  assertProblem(res, 503, "circuit_open");
  assert.equal(origin.requests.length, before, "the origin was not touched");
}

/** Requests the origin got whose query mentions `key`. */
function hitsWith(target: ConformanceTarget, key: string): number {
  return target.origin.requests.filter((r) => r.search.includes(key)).length;
}

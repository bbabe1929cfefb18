import assert from "node:assert/strict";
import { header } from "../../_fixtures/raw_client.ts";
import type { ConformanceTarget } from "../target.ts";
import { send, textOf } from "./http.ts";

/** Liveness and readiness answer 200 on a running, configured gateway. */
export async function answersHealthChecks(
  target: ConformanceTarget,
): Promise<void> {
  for (const path of ["/_gateway/health/live", "/_gateway/health/ready"]) {
    const res = await send(target, "GET", path);
    assert.equal(res.status, 200, `${path}: ${textOf(res)}`);
  }
}

/** Proxied requests show up in the Prometheus metrics. */
export async function countsRequestsInMetrics(
  target: ConformanceTarget,
): Promise<void> {
  assert.equal((await send(target, "GET", "/plain/echo")).status, 200);
  const res = await send(target, "GET", "/_gateway/metrics");
  assert.equal(res.status, 200);
  assert.match(header(res, "content-type") ?? "", /^text\/plain/);
  assert.match(textOf(res), /^gateway_requests_total\{[^}]*route="plain"/m);
}

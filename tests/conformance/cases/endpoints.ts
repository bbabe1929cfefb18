import assert from "node:assert/strict";
import { header } from "../../_fixtures/raw_client.ts";
import { ADMIN_TOKEN, type ConformanceTarget } from "../target.ts";
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

/**
 * Proxied requests show up in the Prometheus metrics, which need the admin
 * token when one is configured (they name every upstream); the gateway's own
 * endpoints are counted apart from routed traffic.
 */
export async function countsRequestsInMetrics(
  target: ConformanceTarget,
): Promise<void> {
  assert.equal((await send(target, "GET", "/plain/echo")).status, 200);
  const anonymous = await send(target, "GET", "/_gateway/metrics");
  assert.equal(anonymous.status, 401);
  assert.match(header(anonymous, "www-authenticate") ?? "", /^Bearer /);
  assert.doesNotMatch(textOf(anonymous), /gateway_requests_total/);
  const res = await send(target, "GET", "/_gateway/metrics", {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  assert.equal(res.status, 200);
  assert.match(header(res, "content-type") ?? "", /^text\/plain/);
  const text = textOf(res);
  assert.match(text, /^gateway_requests_total\{[^}]*route="plain"/m);
  assert.doesNotMatch(text, /^gateway_requests_total\{route=""[^}]*"200"/m);
  assert.match(
    text,
    /^gateway_internal_requests_total\{endpoint="health",status="200"\} \d+/m,
  );
}

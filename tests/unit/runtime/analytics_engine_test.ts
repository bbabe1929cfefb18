import assert from "node:assert/strict";
import type { AccessLogEntry } from "../../../src/observe/access_log.ts";
import { accessEntry } from "../../_fixtures/access_entry.ts";
import {
  type AnalyticsEngineDataset,
  analyticsWriter,
} from "../../../src/runtime/workers/analytics_engine.ts";
import { gatewayFor } from "../../../src/runtime/workers/gateway_for_env.ts";

type DataPoint = Parameters<AnalyticsEngineDataset["writeDataPoint"]>[0];

/** A dataset binding that keeps the points written to it, in order. */
class CapturingDataset implements AnalyticsEngineDataset {
  readonly points: DataPoint[] = [];
  writeDataPoint(point: DataPoint): void {
    this.points.push(point);
  }
}

function entry(overrides: Partial<AccessLogEntry>): AccessLogEntry {
  return accessEntry({
    requestId: "r1",
    ttfbMs: 11.25,
    traceId: null,
    ...overrides,
  });
}

Deno.test("analyticsWriter: a 200 is one point with route index, blobs and doubles", () => {
  const dataset = new CapturingDataset();
  analyticsWriter(dataset)(entry({}));
  assert.deepEqual(dataset.points, [{
    indexes: ["users"],
    blobs: ["users", "GET", "2xx", "http://10.0.0.5:8080/v1", ""],
    doubles: [200, 12.5, 11.25, 1, 0, 512],
  }]);
});

Deno.test("analyticsWriter: a flagged 5xx carries its class, flags and no first byte as -1", () => {
  const dataset = new CapturingDataset();
  analyticsWriter(dataset)(entry({
    method: "POST",
    status: 504,
    attempts: 3,
    durationMs: 30012,
    ttfbMs: null,
    bytesIn: 2048,
    bytesOut: 180,
    flags: ["UT", "RT"],
  }));
  assert.deepEqual(dataset.points, [{
    indexes: ["users"],
    blobs: ["users", "POST", "5xx", "http://10.0.0.5:8080/v1", "UT,RT"],
    doubles: [504, 30012, -1, 3, 2048, 180],
  }]);
});

Deno.test("analyticsWriter: no route and no upstream are (none) and empty", () => {
  const dataset = new CapturingDataset();
  analyticsWriter(dataset)(entry({
    route: null,
    upstream: null,
    status: 404,
    attempts: 0,
    flags: ["NR"],
  }));
  assert.deepEqual(dataset.points[0].indexes, ["(none)"]);
  assert.deepEqual(dataset.points[0].blobs, ["(none)", "GET", "4xx", "", "NR"]);
});

Deno.test("analyticsWriter: a throwing dataset does not throw, and later points still go out", () => {
  let calls = 0;
  const failing: AnalyticsEngineDataset = {
    writeDataPoint() {
      calls++;
      throw new Error("dataset unavailable");
    },
  };
  const write = analyticsWriter(failing);
  write(entry({}));
  write(entry({ status: 502, flags: ["UF"] }));
  assert.equal(calls, 2);
});

Deno.test("Workers entry: a GATEWAY_ANALYTICS binding gets one point per exchange", async () => {
  const dataset = new CapturingDataset();
  // One route that this request does not match: answered 404 without any
  // upstream, so no network is involved.
  const config = {
    routes: [{ name: "a", path: "/a/*", upstreams: ["http://127.0.0.1:9"] }],
  };
  const built = gatewayFor(
    { GATEWAY_CONFIG: JSON.stringify(config), GATEWAY_ANALYTICS: dataset },
    { waitUntil: () => {} },
    {},
  );
  assert.ok(built.ok);
  const response = await built.gateway.fetch(
    new Request("http://gateway.test/no-such-route"),
  );
  await response.body?.cancel();
  assert.equal(response.status, 404);
  assert.equal(dataset.points.length, 1);
  assert.deepEqual(dataset.points[0].indexes, ["(none)"]);
  assert.equal(dataset.points[0].doubles?.[0], 404);
});

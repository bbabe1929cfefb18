/**
 * The gateway's own metrics over OpenTelemetry on Deno (`OTEL_DENO=true`):
 * the real gateway process exports its counters, gauges and the duration
 * and time-to-first-byte histograms as OTLP/JSON to a collector on
 * 127.0.0.1, beside Deno's own runtime metrics.
 */
import assert from "node:assert/strict";
import { startGatewayProcess } from "../_fixtures/gateway_process.ts";
import { Origin } from "../_fixtures/origin.ts";

type OtlpAttribute = { key: string; value: Record<string, unknown> };
type DataPoint = {
  attributes: OtlpAttribute[];
  asDouble?: number;
  asInt?: string;
  count?: string;
};
type OtlpMetric = {
  name: string;
  sum?: { dataPoints: DataPoint[]; isMonotonic: boolean };
  gauge?: { dataPoints: DataPoint[] };
  histogram?: { dataPoints: DataPoint[] };
};

/** Keeps the latest export of each metric of scope `edge-gateway`. */
function startMetricsCollector() {
  const latest = new Map<string, OtlpMetric>();
  const waiters = new Set<() => void>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      const body = await request.text();
      if (new URL(request.url).pathname === "/v1/metrics") {
        const exported = JSON.parse(body);
        for (const resource of exported.resourceMetrics ?? []) {
          for (const scope of resource.scopeMetrics ?? []) {
            if (scope.scope?.name !== "edge-gateway") continue;
            for (const metric of scope.metrics) latest.set(metric.name, metric);
          }
        }
        for (const wake of [...waiters]) wake();
      }
      return Response.json({});
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    latest,
    /** Resolves once `matches` holds; rejects after 10 s. */
    waitFor(matches: () => boolean): Promise<void> {
      if (matches()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`metrics not exported in time: ${[...latest.keys()]}`),
          );
        }, 10_000);
        const check = () => {
          if (!matches()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () => server.shutdown(),
  };
}

function attributes(point: DataPoint): Record<string, unknown> {
  return Object.fromEntries(
    point.attributes.map(({ key, value }) => [key, Object.values(value)[0]]),
  );
}

Deno.test("OTEL_DENO=true: the gateway's counters, gauges and histograms go out over OTLP", async () => {
  const collector = startMetricsCollector();
  const origin = await Origin.start();
  const gateway = await startGatewayProcess({
    config: {
      routes: [{
        name: "api",
        path: "/api/*",
        upstreams: [origin.url],
        stripPrefix: "/api",
      }],
    },
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "300",
      OTEL_SERVICE_NAME: "otel-metrics-test",
    },
  });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gateway.baseUrl}/api/echo`);
      await res.body?.cancel();
    }
    const ready = await fetch(`${gateway.baseUrl}/_gateway/health/ready`);
    await ready.body?.cancel();
    const requestsOf = () =>
      collector.latest.get("gateway_requests")?.sum?.dataPoints.find((p) =>
        attributes(p).route === "api"
      );
    await collector.waitFor(() => (requestsOf()?.asDouble ?? 0) >= 3);
    const requests = collector.latest.get("gateway_requests")!;
    assert.equal(requests.sum?.isMonotonic, true);
    assert.deepEqual(attributes(requestsOf()!), {
      route: "api",
      method: "GET",
      status: "200",
    });
    assert.equal(requestsOf()!.asDouble, 3);

    await collector.waitFor(() =>
      collector.latest.has("gateway_request_duration_seconds") &&
      collector.latest.has("gateway_inflight")
    );
    const duration = collector.latest.get("gateway_request_duration_seconds")!;
    const points = duration.histogram!.dataPoints;
    // Routed traffic only: the readiness probe is not in it.
    assert.deepEqual(points.map(attributes), [
      { route: "api", method: "GET", status: 200 },
    ]);
    assert.equal(Number(points[0].count), 3);
    assert.ok(collector.latest.get("gateway_inflight")?.gauge);
    assert.ok(collector.latest.has("gateway_time_to_first_byte_seconds"));
    assert.ok(collector.latest.has("gateway_internal_requests"));
  } finally {
    await gateway.stop();
    await origin.close();
    await collector.close();
  }
});

import assert from "node:assert/strict";
import {
  GatewayMetrics,
  UNMATCHED_ROUTE,
} from "../../../src/observe/metrics.ts";
import { VERSION } from "../../../src/version.ts";

/** Sample lines (no comments) of one metric name, exactly as rendered. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((line) =>
    line.startsWith(name + "{") || line.startsWith(name + " ")
  );
}

/** Parses one exposition line into name, labels and value, strictly. */
function parseSample(
  line: string,
): { name: string; labels: Record<string, string>; value: number } {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
  assert.ok(match, `not a sample line: ${line}`);
  const labels: Record<string, string> = {};
  const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
  const body = match[2] ?? "";
  let consumed = 0;
  for (
    let m = labelPattern.exec(body);
    m !== null;
    m = labelPattern.exec(body)
  ) {
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    consumed = labelPattern.lastIndex;
    if (consumed === body.length) break;
  }
  assert.equal(consumed, body.length, `bad label set in: ${line}`);
  const value = match[3] === "+Inf" ? Infinity : Number(match[3]);
  assert.ok(!Number.isNaN(value), `bad value in: ${line}`);
  return { name: match[1], labels, value };
}

Deno.test("render: every line is a comment or a valid sample, every family has HELP and TYPE", () => {
  const metrics = new GatewayMetrics();
  metrics.requestFinished("users", "GET", 200, 0.01);
  metrics.attempt("users", "http://a", "success");
  metrics.retry("users");
  metrics.retryBudgetDenied("users");
  metrics.timeout("users", "idle");
  metrics.bulkheadRejected("users");
  metrics.inflight("users", 1);
  metrics.breakerTransition("users", "http://a", "open");
  metrics.storeError("get");
  metrics.clientDisconnect("users");
  metrics.websocketsActive("users", 1);
  const counters = metrics.websocketCounters("users");
  counters.messagesIn.value++;
  counters.bytesIn.value += 5;
  const text = metrics.render([{
    route: "users",
    upstream: "http://a",
    state: "open",
  }], [{ route: "users", upstream: "http://a", healthy: false, requests: 3 }]);
  assert.ok(text.endsWith("\n"));
  const typed = new Map<string, string>();
  for (const line of text.trimEnd().split("\n")) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) typed.set(type[1], type[2]);
    else if (!line.startsWith("# HELP ")) parseSample(line);
  }
  assert.deepEqual(Object.fromEntries(typed), {
    gateway_build_info: "gauge",
    gateway_requests_total: "counter",
    gateway_request_duration_seconds: "histogram",
    gateway_time_to_first_byte_seconds: "histogram",
    gateway_upstream_attempts_total: "counter",
    gateway_retries_total: "counter",
    gateway_retry_budget_denied_total: "counter",
    gateway_timeouts_total: "counter",
    gateway_breaker_state: "gauge",
    gateway_breaker_in_state: "gauge",
    gateway_breaker_transitions_total: "counter",
    gateway_breaker_store_errors_total: "counter",
    gateway_bulkhead_rejections_total: "counter",
    gateway_inflight: "gauge",
    gateway_rate_limit_rejections_total: "counter",
    gateway_internal_requests_total: "counter",
    gateway_errors_total: "counter",
    gateway_config_reloads_total: "counter",
    gateway_config_last_reload_successful: "gauge",
    gateway_client_disconnects_total: "counter",
    gateway_upstream_requests_total: "counter",
    gateway_upstream_healthy: "gauge",
    gateway_websockets_active: "gauge",
    gateway_websocket_messages_total: "counter",
    gateway_websocket_bytes_total: "counter",
  });
  assert.deepEqual(samples(text, "gateway_build_info"), [
    `gateway_build_info{version="${VERSION}"} 1`,
  ]);
  assert.deepEqual(samples(text, "gateway_upstream_healthy"), [
    'gateway_upstream_healthy{route="users",upstream="http://a"} 0',
  ]);
  assert.deepEqual(samples(text, "gateway_upstream_requests_total"), [
    'gateway_upstream_requests_total{route="users",upstream="http://a"} 3',
  ]);
  assert.deepEqual(samples(text, "gateway_websocket_bytes_total"), [
    'gateway_websocket_bytes_total{route="users",direction="in"} 5',
    'gateway_websocket_bytes_total{route="users",direction="out"} 0',
  ]);
  assert.equal(metrics.openWebSockets("users"), 1);
  assert.equal(metrics.openWebSockets("orders"), 0);
  assert.deepEqual(samples(text, "gateway_timeouts_total"), [
    'gateway_timeouts_total{route="users",kind="idle"} 1',
  ]);
  assert.deepEqual(samples(text, "gateway_upstream_attempts_total"), [
    'gateway_upstream_attempts_total{route="users",upstream="http://a",outcome="success"} 1',
  ]);
  assert.deepEqual(samples(text, "gateway_breaker_transitions_total"), [
    'gateway_breaker_transitions_total{route="users",upstream="http://a",to="open"} 1',
  ]);
  assert.deepEqual(samples(text, "gateway_breaker_store_errors_total"), [
    'gateway_breaker_store_errors_total{operation="get"} 1',
  ]);
});

Deno.test("requestFinished counts per route, method and status", () => {
  const metrics = new GatewayMetrics();
  metrics.requestFinished("users", "GET", 200, 0.01);
  metrics.requestFinished("users", "GET", 200, 0.02);
  metrics.requestFinished("users", "POST", 502, 0.03);
  metrics.requestFinished("orders", "GET", 200, 0.04);
  assert.deepEqual(samples(metrics.render([]), "gateway_requests_total"), [
    'gateway_requests_total{route="users",method="GET",status="200"} 2',
    'gateway_requests_total{route="users",method="POST",status="502"} 1',
    'gateway_requests_total{route="orders",method="GET",status="200"} 1',
  ]);
});

Deno.test("label values are escaped: backslash, quote, newline", () => {
  const metrics = new GatewayMetrics();
  const route = 'we"ird\\name\nx';
  metrics.retry(route);
  const [line] = samples(metrics.render([]), "gateway_retries_total");
  assert.equal(line, 'gateway_retries_total{route="we\\"ird\\\\name\\nx"} 1');
  assert.equal(parseSample(line).labels.route, route);
});

Deno.test("method label keeps standard methods and folds the rest into OTHER", () => {
  const metrics = new GatewayMetrics();
  for (
    const method of [
      "GET",
      "PATCH",
      "PROPFIND",
      "get",
      "X".repeat(1000),
      "BREW",
    ]
  ) {
    metrics.requestFinished("r", method, 200, 0.001);
  }
  assert.deepEqual(samples(metrics.render([]), "gateway_requests_total"), [
    'gateway_requests_total{route="r",method="GET",status="200"} 1',
    'gateway_requests_total{route="r",method="PATCH",status="200"} 1',
    'gateway_requests_total{route="r",method="OTHER",status="200"} 4',
  ]);
});

Deno.test("status label is bounded to 100-599", () => {
  const metrics = new GatewayMetrics();
  metrics.requestFinished("r", "GET", 0, 0.001);
  metrics.requestFinished("r", "GET", 1234, 0.001);
  metrics.requestFinished("r", "GET", 599, 0.001);
  assert.deepEqual(samples(metrics.render([]), "gateway_requests_total"), [
    'gateway_requests_total{route="r",method="GET",status="other"} 2',
    'gateway_requests_total{route="r",method="GET",status="599"} 1',
  ]);
});

Deno.test("unmatched requests carry an empty route label", () => {
  const metrics = new GatewayMetrics();
  metrics.requestFinished(UNMATCHED_ROUTE, "GET", 404, 0.001);
  const text = metrics.render([]);
  assert.deepEqual(samples(text, "gateway_requests_total"), [
    'gateway_requests_total{route="",method="GET",status="404"} 1',
  ]);
  assert.ok(
    text.includes('gateway_request_duration_seconds_count{route=""} 1'),
  );
});

Deno.test("histogram buckets are cumulative, end in +Inf, with _sum and _count", () => {
  const metrics = new GatewayMetrics({ buckets: [0.1, 0.5, 1] });
  for (const seconds of [0.05, 0.1, 0.3, 0.7, 2, 5]) {
    metrics.requestFinished("r", "GET", 200, seconds);
  }
  const text = metrics.render([]);
  assert.deepEqual(samples(text, "gateway_request_duration_seconds_bucket"), [
    'gateway_request_duration_seconds_bucket{route="r",le="0.1"} 2',
    'gateway_request_duration_seconds_bucket{route="r",le="0.5"} 3',
    'gateway_request_duration_seconds_bucket{route="r",le="1"} 4',
    'gateway_request_duration_seconds_bucket{route="r",le="+Inf"} 6',
  ]);
  const [sum] = samples(text, "gateway_request_duration_seconds_sum");
  assert.ok(Math.abs(parseSample(sum).value - 8.15) < 1e-9, sum);
  assert.deepEqual(samples(text, "gateway_request_duration_seconds_count"), [
    'gateway_request_duration_seconds_count{route="r"} 6',
  ]);
});

Deno.test("default buckets span 5 ms to 10 min, covering a 300 s stream", () => {
  const metrics = new GatewayMetrics();
  metrics.requestFinished("r", "GET", 200, 0.001);
  metrics.requestFinished("r", "GET", 200, 250);
  const buckets = samples(
    metrics.render([]),
    "gateway_request_duration_seconds_bucket",
  ).map(parseSample);
  const les = buckets.map((sample) => sample.labels.le);
  assert.equal(les[0], "0.005");
  assert.deepEqual(les.slice(-5), ["60", "120", "300", "600", "+Inf"]);
  // The 250 s stream lands under le="300", not only in +Inf.
  assert.equal(buckets.find((b) => b.labels.le === "120")?.value, 1);
  assert.equal(buckets.find((b) => b.labels.le === "300")?.value, 2);
});

Deno.test("a route whose totalMs is past the buckets gets a bound at its totalMs; series exist before traffic", () => {
  const metrics = new GatewayMetrics();
  metrics.declareRoute("batch", 1800);
  metrics.declareRoute("api", 60);
  const text = metrics.render([]);
  const les = (route: string) =>
    samples(text, "gateway_request_duration_seconds_bucket")
      .map(parseSample)
      .filter((sample) => sample.labels.route === route)
      .map((sample) => sample.labels.le);
  assert.deepEqual(les("batch").slice(-3), ["600", "1800", "+Inf"]);
  assert.deepEqual(les("api").slice(-2), ["600", "+Inf"]);
  assert.ok(
    text.includes('gateway_time_to_first_byte_seconds_count{route="api"} 0'),
  );
});

Deno.test("internal requests are counted by endpoint, apart from routed traffic", () => {
  const metrics = new GatewayMetrics();
  metrics.internalRequest("health", 200);
  metrics.internalRequest("metrics", 401);
  metrics.requestFinished("r", "GET", 200, 0.01, 0.004);
  const text = metrics.render([]);
  assert.deepEqual(samples(text, "gateway_internal_requests_total"), [
    'gateway_internal_requests_total{endpoint="health",status="200"} 1',
    'gateway_internal_requests_total{endpoint="metrics",status="401"} 1',
  ]);
  assert.deepEqual(samples(text, "gateway_requests_total"), [
    'gateway_requests_total{route="r",method="GET",status="200"} 1',
  ]);
  assert.ok(
    text.includes(
      'gateway_time_to_first_byte_seconds_bucket{route="r",le="0.005"} 1',
    ),
  );
});

Deno.test("bad buckets are refused up front", () => {
  assert.throws(() => new GatewayMetrics({ buckets: [] }), RangeError);
  assert.throws(
    () => new GatewayMetrics({ buckets: [1, 0.5] }),
    /strictly increasing/,
  );
  assert.throws(() => new GatewayMetrics({ buckets: [0.1, NaN] }), RangeError);
});

Deno.test("breaker state gauge: 0 closed, 1 open, 2 half-open, from the given states", () => {
  const metrics = new GatewayMetrics();
  const text = metrics.render([
    { route: "a", upstream: "http://x", state: "closed" },
    { route: "a", upstream: "http://y", state: "open" },
    { route: "b", upstream: "http://z", state: "half_open" },
  ]);
  assert.deepEqual(samples(text, "gateway_breaker_state"), [
    'gateway_breaker_state{route="a",upstream="http://x"} 0',
    'gateway_breaker_state{route="a",upstream="http://y"} 1',
    'gateway_breaker_state{route="b",upstream="http://z"} 2',
  ]);
});

Deno.test("breaker state label set: one series per state, 1 for the current one", () => {
  const metrics = new GatewayMetrics();
  const text = metrics.render([
    { route: "a", upstream: "http://x", state: "half_open" },
  ]);
  assert.deepEqual(samples(text, "gateway_breaker_in_state"), [
    'gateway_breaker_in_state{route="a",upstream="http://x",state="closed"} 0',
    'gateway_breaker_in_state{route="a",upstream="http://x",state="open"} 0',
    'gateway_breaker_in_state{route="a",upstream="http://x",state="half_open"} 1',
  ]);
});

Deno.test("inflight gauge goes up and down", () => {
  const metrics = new GatewayMetrics();
  metrics.inflight("r", 1);
  metrics.inflight("r", 1);
  metrics.inflight("r", -1);
  assert.deepEqual(samples(metrics.render([]), "gateway_inflight"), [
    'gateway_inflight{route="r"} 1',
  ]);
});

Deno.test("routeRates: requests per second and 5xx share over the last 10 s", () => {
  let now = 1_000_000;
  const metrics = new GatewayMetrics({ now: () => now });
  for (let i = 0; i < 20; i++) {
    now += 250; // 20 requests over 5 s
    metrics.requestFinished("r", "GET", i % 4 === 0 ? 503 : 200, 0.01);
  }
  metrics.requestFinished("other", "GET", 404, 0.01);
  const rates = metrics.routeRates();
  assert.equal(rates.r.requestsPerSecond, 4);
  assert.equal(rates.r.errorRate, 0.25);
  assert.equal(rates.other.errorRate, 0, "4xx are not errors");

  now += 20_000; // everything has aged out of the window
  assert.deepEqual(metrics.routeRates().r, {
    requestsPerSecond: 0,
    errorRate: 0,
  });
});

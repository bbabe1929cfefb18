/**
 * The shipped monitoring material (deploy/grafana/edge-gateway.json,
 * deploy/prometheus/gateway-alerts.yml and prometheus.yml) against the real
 * gateway: every metric the dashboard and the rules name is in a live scrape;
 * promtool checks the rules (and their unit tests) and the scrape config; and
 * a real Prometheus (Debian's, beside promtool) scrapes the gateway with the
 * bearer token, loads the rules healthy, and evaluates every dashboard query.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "../_fixtures/child_process.ts";
import { freePort } from "../_fixtures/free_port.ts";
import { startTestGateway, type TestGateway } from "../_fixtures/gateway.ts";
import { Origin } from "../_fixtures/origin.ts";
import { PROMTOOL, promtool, PROMTOOL_REASON } from "../_fixtures/promtool.ts";

const DASHBOARD = `${REPO_ROOT}deploy/grafana/edge-gateway.json`;
const RULES = `${REPO_ROOT}deploy/prometheus/gateway-alerts.yml`;
const RULE_TESTS = `${REPO_ROOT}deploy/prometheus/gateway-alerts.test.yml`;
const SCRAPE_CONFIG = `${REPO_ROOT}deploy/prometheus/prometheus.yml`;
const METRICS_TOKEN = "monitoring-scrape-token-0123";

/** Every string under an `expr` key (and Grafana's variable queries), anywhere in `value`. */
function queriesIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) queriesIn(item, found);
  } else if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (
        (key === "expr" || key === "definition") && typeof inner === "string"
      ) {
        found.push(inner);
      } else queriesIn(inner, found);
    }
  }
  return found;
}

function dashboardQueries(): string[] {
  return queriesIn(JSON.parse(Deno.readTextFileSync(DASHBOARD)));
}

function ruleQueries(): string[] {
  return queriesIn(parseYaml(Deno.readTextFileSync(RULES)));
}

/** `gateway_*` metric names a query uses. */
function metricNames(queries: string[]): Set<string> {
  const names = new Set<string>();
  for (const query of queries) {
    for (const [name] of query.matchAll(/\bgateway_[a-z0-9_]+/g)) {
      names.add(name);
    }
  }
  return names;
}

/** The families of a scrape: name → type, from the `# TYPE` lines. */
function families(scrape: string): Map<string, string> {
  const typed = new Map<string, string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    typed.set(name, type);
  }
  return typed;
}

/** A name as a query uses it exists: a family, or a histogram's _bucket/_sum/_count. */
function missingFrom(typed: Map<string, string>, names: Set<string>): string[] {
  return [...names].filter((name) => {
    if (typed.has(name)) return false;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    return typed.get(base) !== "histogram";
  });
}

/** A gateway with every feature the dashboard shows switched on somewhere. */
async function startMonitoredGateway(origin: Origin): Promise<TestGateway> {
  return await startTestGateway({
    admin: { token: "monitoring-admin-token-0123" },
    metrics: { tokenEnv: "METRICS_TOKEN" },
    routes: [
      {
        name: "api",
        path: "/api/*",
        upstreams: [`${origin.url}/echo`],
        stripPrefix: "/api",
        policy: {
          bulkhead: { maxConcurrent: 10 },
          rateLimit: { requests: 100, windowSeconds: 1 },
        },
      },
      {
        name: "stream",
        path: "/stream/*",
        upstreams: [origin.url],
        stripPrefix: "/stream",
        policy: { timeouts: { idleMs: 5000, totalMs: 300_000 } },
      },
    ],
  }, { env: { METRICS_TOKEN } });
}

async function scrape(gateway: TestGateway): Promise<string> {
  const res = await fetch(`${gateway.url}/_gateway/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  assert.equal(res.status, 200);
  return await res.text();
}

Deno.test("monitoring: the dashboard parses and every metric it and the alert rules name is in a live scrape", async () => {
  const dashboard = JSON.parse(Deno.readTextFileSync(DASHBOARD));
  assert.equal(dashboard.uid, "edge-gateway");
  const fromDashboard = metricNames(dashboardQueries());
  const fromRules = metricNames(ruleQueries());
  // What the dashboard must show, by the metric that shows it.
  for (
    const name of [
      "gateway_requests_total",
      "gateway_errors_total",
      "gateway_request_duration_seconds_bucket",
      "gateway_time_to_first_byte_seconds_bucket",
      "gateway_retries_total",
      "gateway_retry_budget_denied_total",
      "gateway_breaker_in_state",
      "gateway_breaker_transitions_total",
      "gateway_bulkhead_rejections_total",
      "gateway_rate_limit_rejections_total",
      "gateway_inflight",
      "gateway_breaker_store_errors_total",
    ]
  ) {
    assert.ok(fromDashboard.has(name), `the dashboard does not show ${name}`);
  }
  assert.ok(fromRules.size >= 5, [...fromRules].join(", "));

  const origin = await Origin.start();
  const gateway = await startMonitoredGateway(origin);
  try {
    const typed = families(await scrape(gateway));
    assert.deepEqual(missingFrom(typed, fromDashboard), [], "dashboard");
    assert.deepEqual(missingFrom(typed, fromRules), [], "alert rules");
    // The check can fail: a name the gateway does not export is caught.
    assert.deepEqual(
      missingFrom(typed, new Set(["gateway_no_such_metric_total"])),
      ["gateway_no_such_metric_total"],
    );
  } finally {
    await gateway.close();
    await origin.close();
  }
});

Deno.test({
  name:
    "monitoring: promtool checks the alert rules, their unit tests and the scrape config" +
    PROMTOOL_REASON,
  ignore: PROMTOOL === null,
  async fn() {
    const rules = await promtool(["check", "rules", RULES]);
    assert.equal(rules.code, 0, rules.output);
    assert.match(rules.output, /SUCCESS: 6 rules found/);
    const tests = await promtool(["test", "rules", RULE_TESTS]);
    assert.equal(tests.code, 0, tests.output);
    // promtool opens credentials_file: check a copy whose file exists.
    const dir = await Deno.makeTempDir({ prefix: "prometheus-config-" });
    try {
      await Deno.writeTextFile(`${dir}/token`, METRICS_TOKEN);
      await Deno.copyFile(RULES, `${dir}/gateway-alerts.yml`);
      const config = Deno.readTextFileSync(SCRAPE_CONFIG).replaceAll(
        "/etc/prometheus/secrets/gateway-metrics-token",
        `${dir}/token`,
      );
      await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
      const checked = await promtool([
        "check",
        "config",
        `${dir}/prometheus.yml`,
      ]);
      assert.equal(checked.code, 0, checked.output);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Prometheus's HTTP API answer for `path` (bounded by fetch's own timeout). */
async function api(
  base: string,
  path: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`);
  return await res.json();
}

/** Polls `check` every 200 ms, at most `timeoutMs`; returns its first non-undefined result. */
async function pollFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const last = await check().catch(() => undefined);
    if (last !== undefined) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name:
    "monitoring: a real Prometheus scrapes with the bearer token, loads the rules and evaluates every dashboard query" +
    PROMTOOL_REASON,
  ignore: PROMTOOL === null,
  async fn() {
    const origin = await Origin.start();
    const gateway = await startMonitoredGateway(origin);
    const dir = await Deno.makeTempDir({ prefix: "prometheus-" });
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    await Deno.writeTextFile(`${dir}/token`, METRICS_TOKEN);
    const target = `127.0.0.1:${gateway.port}`;
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        `rule_files: ["${RULES}"]`,
        "scrape_configs:",
        "  - job_name: edge-gateway",
        "    metrics_path: /_gateway/metrics",
        `    authorization: { type: Bearer, credentials_file: ${dir}/token }`,
        `    static_configs: [{ targets: ["${target}"] }]`,
        "  - job_name: no-token",
        "    metrics_path: /_gateway/metrics",
        `    static_configs: [{ targets: ["${target}"] }]`,
      ].join("\n"),
    );
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${gateway.url}/api/${i}`);
        await res.body?.cancel();
      }
      const up = await pollFor("both targets scraped", 20_000, async () => {
        const body = await api(base, "/api/v1/targets");
        const targets =
          (body.data as { activeTargets: Record<string, unknown>[] })
            .activeTargets;
        return targets.length === 2 &&
            targets.every((t) => t.health !== "unknown")
          ? targets
          : undefined;
      });
      const byJob = Object.fromEntries(
        up.map((t) => [(t.labels as Record<string, string>).job, t]),
      );
      assert.equal(
        byJob["edge-gateway"].health,
        "up",
        String(byJob["edge-gateway"].lastError),
      );
      assert.equal(byJob["no-token"].health, "down");
      assert.match(String(byJob["no-token"].lastError), /401/);

      const rules = await api(base, "/api/v1/rules");
      const groups = (rules.data as {
        groups: { rules: { health: string; name: string }[] }[];
      })
        .groups;
      assert.equal(groups.length, 1);
      assert.equal(groups[0].rules.length, 6);
      for (const rule of groups[0].rules) {
        assert.equal(rule.health, "ok", `rule ${rule.name}`);
      }

      const promql = dashboardQueries().filter((q) =>
        !q.startsWith("label_values(")
      );
      assert.ok(promql.length >= 20, `${promql.length} queries`);
      for (const query of promql) {
        const concrete = query.replaceAll("$__rate_interval", "1m").replaceAll(
          "$route",
          ".*",
        );
        const answer = await api(
          base,
          `/api/v1/query?query=${encodeURIComponent(concrete)}`,
        );
        assert.equal(
          answer.status,
          "success",
          `${query}: ${JSON.stringify(answer)}`,
        );
      }
      // The scraped series are there: the requests just made, by route.
      const requests = await pollFor("requests scraped", 10_000, async () => {
        const answer = await api(
          base,
          `/api/v1/query?query=${
            encodeURIComponent(
              'sum(gateway_requests_total{job="edge-gateway",route="api"})',
            )
          }`,
        );
        const [sample] =
          (answer.data as { result: { value: [number, string] }[] }).result;
        return sample && Number(sample.value[1]) === 3 ? 3 : undefined;
      });
      assert.equal(requests, 3);
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.status;
      await gateway.close();
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

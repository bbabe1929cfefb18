import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/load_config.ts";
import { validateConfig } from "../../../src/config/validate_config.ts";
import { BUILT_IN_POLICY } from "../../../src/config/defaults.ts";

const noEnv = () => undefined;
const route = (extra: Record<string, unknown> = {}) => ({
  name: "users",
  path: "/api/users/*",
  upstreams: ["http://10.0.0.5:8080/v1/"],
  ...extra,
});

Deno.test("policies merge built-in → defaults → route, deeply", () => {
  const result = validateConfig({
    defaults: {
      timeouts: { headersMs: 5000 },
      retry: { budget: { ratio: 0.5 } },
    },
    routes: [
      route({ policy: { retry: { retries: 0 } } }),
      route({ name: "b" }),
    ],
  }, noEnv);
  assert.ok(result.ok);
  const [users, b] = result.config.routes;
  assert.equal(users.policy.timeouts.headersMs, 5000);
  assert.equal(users.policy.timeouts.idleMs, BUILT_IN_POLICY.timeouts.idleMs);
  assert.equal(users.policy.retry.retries, 0);
  assert.deepEqual(users.policy.retry.budget, { ratio: 0.5, minPerSecond: 10 });
  assert.equal(b.policy.retry.retries, 2);
  assert.equal(users.upstreams[0].basePath, "/v1");
  assert.equal(users.upstreams[0].origin, "http://10.0.0.5:8080");
});

Deno.test("every problem is reported with its path, not just the first", () => {
  const result = validateConfig({
    admin: { token: "short" },
    routes: [
      route({ upstreams: ["ftp://x", "http://u:p@h/"], methods: [] }),
      route({ path: "api", policy: { breaker: { failureRate: 2 }, polcy: 1 } }),
    ],
  }, noEnv);
  assert.ok(!result.ok);
  const paths = result.errors.map((e) => e.split(":")[0]);
  assert.deepEqual(paths, [
    "admin.token",
    "routes[0].methods",
    "routes[0].upstreams[0]",
    "routes[0].upstreams[1]",
    "routes[1].name",
    "routes[1].path",
    "routes[1].policy.polcy",
    "routes[1].policy.breaker.failureRate",
  ]);
});

Deno.test("secrets come from the environment when named; missing ones are errors", () => {
  const env = (name: string) =>
    ({ ADMIN: "0123456789abcdef!", KEYS: "k1, k2,," })[name];
  const ok = validateConfig({
    admin: { tokenEnv: "ADMIN" },
    routes: [route({ auth: { apiKeysEnv: "KEYS" } })],
  }, env);
  assert.ok(ok.ok);
  assert.equal(ok.config.adminToken, "0123456789abcdef!");
  assert.deepEqual(ok.config.routes[0].auth?.apiKeys, ["k1", "k2"]);

  const missing = validateConfig({
    admin: { tokenEnv: "NOPE" },
    routes: [route({ auth: { apiKeysEnv: "ALSO_NOPE" } })],
  }, env);
  assert.ok(!missing.ok);
  assert.deepEqual(missing.errors, [
    "admin.tokenEnv: environment variable NOPE is not set",
    "routes[0].auth.apiKeysEnv: environment variable ALSO_NOPE is not set",
  ]);
});

Deno.test("null switches an inherited cors or rateLimit off; cors gets its defaults", () => {
  const result = validateConfig({
    defaults: {
      cors: { origins: ["https://app.example"] },
      rateLimit: { requests: 5, windowSeconds: 1 },
    },
    routes: [
      route(),
      route({ name: "off", policy: { cors: null, rateLimit: null } }),
    ],
  }, noEnv);
  assert.ok(result.ok);
  const [on, off] = result.config.routes;
  assert.deepEqual(on.policy.cors?.origins, ["https://app.example"]);
  assert.ok(on.policy.cors?.methods.includes("GET"));
  assert.equal(off.policy.cors, null);
  assert.equal(off.policy.rateLimit, null);
});

Deno.test("rateLimit.scope: instance by default, fleet on request, anything else named", () => {
  const result = validateConfig({
    defaults: { rateLimit: { requests: 5, windowSeconds: 1 } },
    routes: [
      route(),
      route({
        name: "fleet",
        policy: { rateLimit: { scope: "fleet" } },
      }),
    ],
  }, noEnv);
  assert.ok(result.ok);
  assert.deepEqual(result.config.routes.map((r) => r.policy.rateLimit), [
    { requests: 5, windowSeconds: 1, scope: "instance" },
    { requests: 5, windowSeconds: 1, scope: "fleet" },
  ]);
  const bad = validateConfig({
    routes: [route({
      policy: { rateLimit: { requests: 1, windowSeconds: 1, scope: "global" } },
    })],
  }, noEnv);
  assert.ok(!bad.ok);
  assert.equal(bad.errors.length, 1);
  assert.match(bad.errors[0], /^routes\[0\]\.policy\.rateLimit\.scope: /);
});

Deno.test("cross-field rules: maxMs ≥ baseMs, totalMs ≥ headersMs, no * with credentials", () => {
  const result = validateConfig({
    routes: [route({
      policy: {
        retry: { baseMs: 100, maxMs: 10 },
        timeouts: { headersMs: 1000, totalMs: 10 },
        cors: { origins: ["*"], credentials: true },
      },
    })],
  }, noEnv);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => e.split(":")[0]), [
    "routes[0].policy.timeouts.totalMs",
    "routes[0].policy.retry.maxMs",
    "routes[0].policy.cors.origins",
  ]);
});

Deno.test("a route may shorten only its total deadline: an inherited headersMs is bounded by it", () => {
  const result = validateConfig({
    defaults: { timeouts: { idleMs: 5000 } },
    routes: [
      route({ policy: { timeouts: { totalMs: 800 } } }),
      route({ name: "b", path: "/b/*" }),
    ],
  }, noEnv);
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  const [short, plain] = result.config.routes;
  const { headersMs, idleMs, totalMs } = short.policy.timeouts;
  assert.deepEqual({ headersMs, idleMs, totalMs }, {
    headersMs: 10_000,
    idleMs: 5000,
    totalMs: 800,
  });
  assert.equal(plain.policy.timeouts.totalMs, 120_000);
  // Defaults that shorten the total alone are accepted the same way.
  assert.ok(
    validateConfig({
      defaults: { timeouts: { totalMs: 500 } },
      routes: [route({ policy: { timeouts: { headersMs: 400 } } })],
    }, noEnv).ok,
  );
  // Written together, a headersMs the total overrides is a mistake.
  const both = validateConfig({
    defaults: { timeouts: { headersMs: 900, totalMs: 800 } },
    routes: [route()],
  }, noEnv);
  assert.ok(!both.ok);
  assert.deepEqual(both.errors.map((e) => e.split(":")[0]), [
    "defaults.timeouts.totalMs",
  ]);
});

Deno.test("invalid JSON is one clear error", () => {
  const result = parseConfig("{ routes: [", noEnv);
  assert.ok(!result.ok);
  assert.match(result.errors[0], /^\(root\): invalid JSON: /);
});

Deno.test("metrics: the admin token protects them by default; a metrics token adds one; public opens them", () => {
  const env = (name: string) =>
    ({ ADMIN: "admin-token-0123456", SCRAPE: "scrape-token-0123456" })[name];
  const tokens = (raw: Record<string, unknown>) => {
    const result = validateConfig({ ...raw, routes: [route()] }, env);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    return result.config.metricsTokens;
  };
  assert.deepEqual(tokens({}), []);
  assert.deepEqual(tokens({ admin: { tokenEnv: "ADMIN" } }), [
    "admin-token-0123456",
  ]);
  assert.deepEqual(
    tokens({ admin: { tokenEnv: "ADMIN" }, metrics: { tokenEnv: "SCRAPE" } }),
    ["scrape-token-0123456", "admin-token-0123456"],
  );
  assert.deepEqual(tokens({ metrics: { token: "scrape-token-0123456" } }), [
    "scrape-token-0123456",
  ]);
  assert.deepEqual(
    tokens({ admin: { tokenEnv: "ADMIN" }, metrics: { public: true } }),
    [],
  );

  const bad = validateConfig({
    metrics: { token: "short", tokenEnv: "SCRAPE" },
    routes: [route()],
  }, env);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors, [
    "metrics: give either token or tokenEnv, not both",
  ]);
  const mixed = validateConfig({
    metrics: { public: false, extra: 1 },
    routes: [route()],
  }, env);
  assert.ok(!mixed.ok);
  assert.deepEqual(mixed.errors, [
    "metrics.extra: unknown field (expected one of: token, tokenEnv, public)",
    "metrics.public: must be true (leave it out to protect)",
  ]);
});

Deno.test("upstreams as strings or {url, weight, backup}; balance and healthCheck merged", () => {
  const result = validateConfig({
    routes: [route({
      upstreams: [
        "http://a:1",
        { url: "http://b:2/v1", weight: 3 },
        { url: "http://c:3", backup: true },
      ],
      policy: { balance: "round_robin", healthCheck: { path: "/healthz" } },
    })],
  }, noEnv);
  assert.ok(result.ok);
  const [users] = result.config.routes;
  assert.deepEqual(
    users.upstreams.map(({ url, weight, backup }) => [url, weight, backup]),
    [["http://a:1", 1, false], ["http://b:2/v1", 3, false], [
      "http://c:3",
      1,
      true,
    ]],
  );
  assert.equal(users.policy.balance, "round_robin");
  assert.deepEqual(users.policy.healthCheck, {
    path: "/healthz",
    intervalMs: 10_000,
    timeoutMs: 2_000,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  });
  assert.equal(BUILT_IN_POLICY.balance, "p2c");
  assert.equal(BUILT_IN_POLICY.breaker.consecutiveFailures, 5);
  assert.equal(BUILT_IN_POLICY.breaker.maxOpenMs, 300_000);
});

Deno.test("bad upstream objects, balance and healthCheck: every field named", () => {
  const result = validateConfig({
    routes: [route({
      upstreams: [
        { url: "http://a:1", weight: 0, backup: "yes", extra: 1 },
        { url: "http://a:1" },
        { url: "http://c:3", backup: true },
      ],
      policy: {
        balance: "random",
        healthCheck: { intervalMs: 5_000, timeoutMs: 5_000 },
        breaker: { consecutiveFailures: 0 },
      },
    })],
  }, noEnv);
  assert.ok(!result.ok);
  const at = (path: string) =>
    result.errors.some((error) => error.startsWith(`routes[0].${path}:`));
  for (
    const path of [
      "upstreams[0].extra",
      "upstreams[0].weight",
      "upstreams[0].backup",
      "upstreams[1].url",
      "policy.balance",
      "policy.healthCheck.path",
      "policy.healthCheck.timeoutMs",
      "policy.breaker.consecutiveFailures",
    ]
  ) assert.ok(at(path), `${path} missing in:\n${result.errors.join("\n")}`);
  const onlyBackups = validateConfig({
    routes: [route({ upstreams: [{ url: "http://a:1", backup: true }] })],
  }, noEnv);
  assert.ok(!onlyBackups.ok);
  assert.match(
    onlyBackups.errors.join("\n"),
    /routes\[0\]\.upstreams: needs at least one/,
  );
});

Deno.test("stream delivery settings: off by default, compression on; false turns it off, an object back on", () => {
  const result = validateConfig({
    defaults: { compression: false, sse: { heartbeatMs: 15_000 } },
    routes: [
      route(),
      route({
        name: "llm",
        policy: {
          timeouts: { firstByteMs: 5_000 },
          compression: { minBytes: 256 },
        },
      }),
    ],
  }, noEnv);
  assert.ok(result.ok);
  const [users, llm] = result.config.routes;
  assert.equal(users.policy.compression, null);
  assert.equal(users.policy.timeouts.firstByteMs, null);
  assert.equal(users.policy.sse.heartbeatMs, 15_000);
  assert.deepEqual(llm.policy.compression, {
    encodings: ["br", "gzip"],
    minBytes: 256,
  });
  assert.equal(llm.policy.timeouts.firstByteMs, 5_000);

  const plain = validateConfig({ routes: [route()] }, noEnv);
  assert.ok(plain.ok);
  assert.deepEqual(plain.config.routes[0].policy.compression, {
    encodings: ["br", "gzip"],
    minBytes: 1024,
  });
  assert.equal(plain.config.routes[0].policy.sse.heartbeatMs, null);
});

Deno.test("bad stream delivery settings are each reported with their path", () => {
  const result = validateConfig({
    defaults: { compression: true },
    routes: [
      route({
        policy: {
          timeouts: { firstByteMs: 0 },
          sse: { heartbeatMs: "15s" },
          compression: { encodings: ["zstd", "gzip", "gzip"], level: 9 },
        },
      }),
    ],
  }, noEnv);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors, [
    "defaults.compression: must be false or an object, got true",
    "routes[0].policy.timeouts.firstByteMs: must be an integer from 1 to 2147483647, got 0",
    'routes[0].policy.sse.heartbeatMs: must be an integer from 1 to 2147483647, got "15s"',
    "routes[0].policy.compression.level: unknown field (expected one of: encodings, minBytes)",
    'routes[0].policy.compression.encodings[0]: must be one of "br", "gzip", got "zstd"',
    "routes[0].policy.compression.encodings: must not name an encoding twice",
  ]);
});

Deno.test("websocket: on by default, false switches it off, a partial object over false gets the defaults, bad fields named", () => {
  const result = validateConfig({
    defaults: { websocket: false },
    routes: [
      route(),
      route({ name: "b", policy: { websocket: { idleMs: 5000 } } }),
    ],
  }, noEnv);
  assert.ok(result.ok);
  assert.equal(result.config.routes[0].policy.websocket, null);
  assert.deepEqual(result.config.routes[1].policy.websocket, {
    maxMessageBytes: 1_048_576,
    idleMs: 5000,
  });
  const byDefault = validateConfig({ routes: [route()] }, noEnv);
  assert.ok(byDefault.ok);
  assert.deepEqual(byDefault.config.routes[0].policy.websocket, {
    maxMessageBytes: 1_048_576,
    idleMs: 300_000,
  });
  const bad = validateConfig({
    routes: [route({
      policy: { websocket: { maxMessageBytes: 0, idleMs: "x", extra: 1 } },
    })],
  }, noEnv);
  assert.ok(!bad.ok);
  const fields = bad.errors.map((e) => e.split(":")[0]).sort();
  assert.deepEqual(fields, [
    "routes[0].policy.websocket.extra",
    "routes[0].policy.websocket.idleMs",
    "routes[0].policy.websocket.maxMessageBytes",
  ]);
  const notObject = validateConfig({
    routes: [route({ policy: { websocket: true } })],
  }, noEnv);
  assert.ok(!notObject.ok);
  assert.match(notObject.errors[0], /^routes\[0\]\.policy\.websocket: /);
});

/**
 * Property-based tests (fast-check) of the two pieces that stand between
 * hostile input and the network: the upstream URL builder (no request target
 * may reach another origin or leave the base path) and the config validator
 * (never throws; names the path of every invalid field).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { UpstreamAddress } from "../../src/config/types.ts";
import { upstreamUrl } from "../../src/http/upstream_url.ts";
import { validateConfig } from "../../src/config/validate_config.ts";

// ---------------------------------------------------------------- upstream URL

const UPSTREAMS: UpstreamAddress[] = [
  {
    url: "http://10.0.0.5:8080/v1",
    origin: "http://10.0.0.5:8080",
    basePath: "/v1",
  },
  { url: "https://svc.internal", origin: "https://svc.internal", basePath: "" },
  {
    url: "http://[::1]:9000/a/b",
    origin: "http://[::1]:9000",
    basePath: "/a/b",
  },
  {
    url: "http://127.0.0.1:81/v1.2",
    origin: "http://127.0.0.1:81",
    basePath: "/v1.2",
  },
];

/**
 * Pieces that, put together, make the classic traversal and SSRF shapes. No
 * `?`: the pipeline splits the query off first. `#` stays: Deno passes a
 * request target's `#` through in `request.url`.
 */
const TRICKY_PIECES = [
  "/",
  "//",
  "\\",
  ".",
  "..",
  "%2e",
  "%2E",
  "%2e%2e",
  ".%2e",
  "%2f",
  "%2F",
  "%5c",
  "%5C",
  "%252e",
  "%252f",
  "%00",
  "%0a",
  "%0d",
  "%",
  "%zz",
  "%c0%ae",
  "%u002e",
  "@",
  ":",
  "evil.example",
  "evil.example:80",
  "http:",
  "https:",
  "#",
  ";",
  "é",
  "%c3%a9",
  "\u2025",
  "\uff0e",
  "\u3002",
  "\u0000",
  "api",
  "users",
  "v1",
  "v2",
  "a",
  "b",
  " ",
  "\t",
];

const trickyPath = fc.array(fc.constantFrom(...TRICKY_PIECES), {
  minLength: 0,
  maxLength: 12,
}).map((pieces) => "/" + pieces.join(""));

const anyPath = fc.oneof(
  trickyPath,
  trickyPath.map((path) => "/api" + path),
  fc.webPath(),
  fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => "/" + s),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.webUrl().map((url) => url), // absolute-form target as a "path"
).map((path) => path.replaceAll("?", ""));

const anySearch = fc.oneof(
  fc.constant(""),
  fc.webQueryParameters().map((q) => "?" + q),
  fc.array(fc.constantFrom("?", ...TRICKY_PIECES), { maxLength: 6 }).map((
    p,
  ) => "?" + p.join("")),
);

/**
 * What an upstream that percent-decodes once and then normalises would route
 * on, taking `\\` for `/` and dropping `;params` as some servers do.
 */
function normalisedPath(pathname: string): string {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // undecodable: the upstream sees it as it is
  }
  const out: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    // Servlet containers drop `;params` from a segment: `..;x` is `..`.
    const segment = raw.split(";")[0];
    if (segment === "..") out.pop();
    else if (segment !== "." && segment !== "") out.push(segment);
  }
  return "/" + out.join("/");
}

function underBase(path: string, base: string): boolean {
  return base === "" || path === base || path.startsWith(base + "/");
}

Deno.test("property: the upstream URL never leaves the upstream's origin or base path", () => {
  let built = 0; // the checks below must have seen URLs, not only refusals
  fc.assert(
    fc.property(
      fc.constantFrom(...UPSTREAMS),
      anyPath,
      anySearch,
      fc.constantFrom("", "/api"),
      (upstream, pathname, search, stripPrefix) => {
        const result = upstreamUrl(upstream, pathname, search, stripPrefix);
        if (result === null) return;
        built++;
        const url = new URL(result);
        assert.equal(url.origin, upstream.origin);
        assert.equal(url.username, "");
        assert.equal(url.password, "");
        assert.ok(
          underBase(url.pathname, upstream.basePath),
          `${result} is outside ${upstream.basePath}`,
        );
        assert.ok(
          underBase(normalisedPath(url.pathname), upstream.basePath),
          `${result} normalises outside ${upstream.basePath}`,
        );
        assert.ok(
          result.startsWith(upstream.origin + upstream.basePath),
          `${result} does not start with the configured base`,
        );
      },
    ),
    {
      numRuns: 3000,
      examples: [
        // A fragment after an encoded backslash and dots hid them from the
        // dot-segment check (found by this property).
        [UPSTREAMS[0], "/api/%5c..#", "", "/api"],
        [UPSTREAMS[0], "/api/%2e%2e/admin", "", "/api"],
        [UPSTREAMS[0], "/api/..;/admin", "", "/api"],
        [UPSTREAMS[2], "/api//evil.example/x", "?a=1", "/api"],
      ],
    },
  );
  assert.ok(built > 1000, `only ${built} of 3000 paths produced a URL`);
});

Deno.test("property: ordinary paths are forwarded unchanged under the base path", () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/);
  fc.assert(
    fc.property(
      fc.constantFrom(...UPSTREAMS),
      fc.array(segment, { maxLength: 6 }),
      fc.webQueryParameters(),
      (upstream, segments, query) => {
        const rest = segments.map((s) => "/" + s).join("");
        const search = query === "" ? "" : "?" + query;
        const expectedPath = upstream.basePath + rest;
        const result = upstreamUrl(upstream, "/api" + rest, search, "/api");
        assert.equal(
          result,
          new URL(upstream.origin + (expectedPath || "/") + search).href,
        );
      },
    ),
    { numRuns: 500 },
  );
});

// ------------------------------------------------------------ config validator

const env = (name: string) =>
  ({ API_KEYS: "k1,k2", JWT_SECRET: "s3cret" })[name];

/** A config using every section, valid as it stands. */
function validConfig(): Record<string, unknown> {
  return {
    admin: { token: "0123456789abcdef-admin" },
    trustedProxies: ["10.0.0.0/8"],
    log: { level: "info", sampleRate: 0.5 },
    serverTiming: true,
    defaults: { timeouts: { headersMs: 5000 }, retry: { retries: 1 } },
    routes: [
      {
        name: "users",
        path: "/api/users/*",
        methods: ["GET", "POST"],
        upstreams: ["http://10.0.0.5:8080/v1", "http://10.0.0.6:8080/v1"],
        stripPrefix: "/api",
        auth: { apiKeys: ["key-1"] },
        policy: {
          timeouts: { headersMs: 1000, idleMs: 2000, totalMs: 9000 },
          retry: {
            retries: 2,
            baseMs: 10,
            maxMs: 100,
            on: ["network", 503],
            budget: { ratio: 0.1, minPerSecond: 1 },
          },
          breaker: {
            window: "time",
            size: 10,
            failureRate: 0.5,
            slowCallMs: 500,
          },
          bulkhead: { maxConcurrent: 10 },
          maxBodyBytes: 1024,
          cors: { origins: ["https://app.example"], credentials: true },
          rateLimit: { requests: 10, windowSeconds: 60 },
        },
      },
      {
        name: "orders",
        path: "/orders/*",
        upstreams: ["https://orders.internal"],
        auth: {
          apiKeysEnv: "API_KEYS",
          jwt: {
            algorithms: ["HS256"],
            secretEnv: "JWT_SECRET",
            issuer: "https://issuer.example",
            audience: "gateway",
            leewaySeconds: 5,
            forwardClaims: { sub: "x-user-id" },
          },
        },
      },
    ],
  };
}

/** A field, and values that are wrong for it, with the path errors must name. */
interface Mutation {
  at: (string | number)[];
  path: string;
  bad: fc.Arbitrary<unknown>;
}

const notAnInteger = fc.oneof(
  fc.double({ noInteger: true }),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);
const notAString = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);
const notANumber = fc.oneof(
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);
const notAnArray = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.constant({}),
);
const r0 = ["routes", 0];
const p0 = [...r0, "policy"];

const MUTATIONS: Mutation[] = [
  {
    at: ["admin", "token"],
    path: "admin.token",
    bad: fc.oneof(notAString, fc.constant("short")),
  },
  {
    at: ["trustedProxies", 0],
    path: "trustedProxies[0]",
    bad: fc.constantFrom(
      "proxy.internal",
      "10.0.0.0/33",
      "10.0.0.300",
      7,
      null,
    ),
  },
  { at: ["trustedProxies"], path: "trustedProxies", bad: notAnArray },
  {
    at: ["log", "level"],
    path: "log.level",
    bad: fc.oneof(notAString, fc.constant("verbose")),
  },
  {
    at: ["log", "sampleRate"],
    path: "log.sampleRate",
    bad: fc.oneof(fc.constant(1.5), fc.constant(-0.1), notANumber),
  },
  {
    at: ["serverTiming"],
    path: "serverTiming",
    bad: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  },
  {
    at: ["defaults", "retry", "baseMs"],
    path: "defaults.retry.baseMs",
    bad: fc.oneof(fc.integer({ max: -1 }), notAnInteger),
  },
  {
    at: ["defaults", "tiemouts"],
    path: "defaults.tiemouts",
    bad: fc.anything(),
  },
  {
    at: [...r0, "name"],
    path: "routes[0].name",
    bad: fc.oneof(
      // JSON.parse gives such objects; String() on them throws.
      fc.constant({ toString: false }),
      notAString,
      fc.constant(""),
      fc.constant("has space"),
      fc.constant("x".repeat(65)),
    ),
  },
  {
    at: [...r0, "path"],
    path: "routes[0].path",
    bad: fc.oneof(notAString, fc.constant("api/*"), fc.constant("/_gateway/x")),
  },
  {
    at: [...r0, "methods"],
    path: "routes[0].methods",
    bad: fc.oneof(
      // JSON.parse gives such objects; String() on them throws.
      fc.constant([{ toString: false }]),
      notAnArray,
      fc.constant([]),
      fc.constant(["GE T"]),
    ),
  },
  {
    at: [...r0, "upstreams", 0],
    path: "routes[0].upstreams[0]",
    bad: fc.oneof(
      fc.constantFrom(
        "ftp://x",
        "not a url",
        "http://u:p@h/",
        "http://h/?q=1",
        "http://h/#f",
        "javascript:alert(1)",
      ),
      fc.integer(),
      fc.constant(null),
    ),
  },
  {
    at: [...r0, "upstreams"],
    path: "routes[0].upstreams",
    bad: fc.oneof(fc.constant([]), fc.string(), fc.constant(null)),
  },
  {
    at: [...r0, "stripPrefix"],
    path: "routes[0].stripPrefix",
    bad: fc.oneof(notAString, fc.constant("api")),
  },
  {
    at: [...r0, "auth", "apiKeys"],
    path: "routes[0].auth.apiKeys",
    bad: fc.oneof(
      // JSON.parse gives such objects; String() on them throws.
      fc.constant([{ toString: 0 }]),
      notAnArray,
      fc.constant([]),
      fc.constant([""]),
      fc.constant([7]),
    ),
  },
  { at: [...r0, "bogus"], path: "routes[0].bogus", bad: fc.anything() },
  {
    at: [...p0, "timeouts", "headersMs"],
    path: "routes[0].policy.timeouts.headersMs",
    bad: fc.oneof(fc.constant(0), notAnInteger),
  },
  {
    at: [...p0, "retry", "retries"],
    path: "routes[0].policy.retry.retries",
    bad: fc.oneof(fc.constant(11), fc.constant(-1), notAnInteger),
  },
  {
    at: [...p0, "retry", "on"],
    path: "routes[0].policy.retry.on",
    bad: fc.oneof(notAnArray, fc.constant(["sometimes"]), fc.constant([99])),
  },
  {
    at: [...p0, "retry", "budget", "ratio"],
    path: "routes[0].policy.retry.budget.ratio",
    bad: fc.oneof(fc.constant(-1), fc.constant(Infinity), notANumber),
  },
  {
    at: [...p0, "breaker", "window"],
    path: "routes[0].policy.breaker.window",
    bad: fc.oneof(notAString, fc.constant("sliding")),
  },
  {
    at: [...p0, "breaker", "failureRate"],
    path: "routes[0].policy.breaker.failureRate",
    bad: fc.oneof(fc.constant(0), fc.constant(1.5), notANumber),
  },
  {
    at: [...p0, "bulkhead", "maxConcurrent"],
    path: "routes[0].policy.bulkhead.maxConcurrent",
    bad: fc.oneof(
      fc.constant(0),
      fc.constant(1.5),
      fc.string(),
      fc.boolean(),
      fc.constant([]),
    ),
  },
  {
    at: [...p0, "maxBodyBytes"],
    path: "routes[0].policy.maxBodyBytes",
    bad: fc.oneof(fc.integer({ max: -1 }), fc.string()),
  },
  {
    at: [...p0, "cors", "origins"],
    path: "routes[0].policy.cors.origins",
    bad: fc.oneof(
      notAnArray,
      fc.constant([]),
      fc.constant(["https://a.example/path"]),
      fc.constant(["*"]),
    ),
  },
  {
    at: [...p0, "cors", "methods"],
    path: "routes[0].policy.cors.methods",
    bad: fc.oneof(notAnArray, fc.constant(["GE T"])),
  },
  {
    at: [...p0, "cors", "maxAgeSeconds"],
    path: "routes[0].policy.cors.maxAgeSeconds",
    bad: fc.oneof(fc.constant(-1), fc.constant(86_401), notAnInteger),
  },
  {
    at: [...p0, "rateLimit", "requests"],
    path: "routes[0].policy.rateLimit.requests",
    bad: fc.oneof(fc.constant(0), notAnInteger),
  },
  {
    at: [...p0, "rateLimit", "windowSeconds"],
    path: "routes[0].policy.rateLimit.windowSeconds",
    bad: fc.oneof(fc.constant(0), notAnInteger),
  },
  {
    at: ["routes", 1, "auth", "jwt", "algorithms"],
    path: "routes[1].auth.jwt.algorithms",
    bad: fc.oneof(
      notAnArray,
      fc.constant([]),
      fc.constant(["none"]),
      fc.constant(["HS512"]),
    ),
  },
  {
    at: ["routes", 1, "auth", "jwt", "leewaySeconds"],
    path: "routes[1].auth.jwt.leewaySeconds",
    bad: fc.oneof(fc.constant(-1), fc.constant(3601), notAnInteger),
  },
  {
    at: ["routes", 1, "auth", "jwt", "issuer"],
    path: "routes[1].auth.jwt.issuer",
    bad: fc.oneof(notAString, fc.constant("")),
  },
  {
    at: ["routes", 1, "auth", "jwt", "forwardClaims"],
    path: "routes[1].auth.jwt.forwardClaims",
    bad: fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constant([]),
      fc.constant({ sub: "bad header" }),
    ),
  },
];

function setAt(
  target: Record<string, unknown>,
  at: (string | number)[],
  value: unknown,
) {
  let node = target as Record<string | number, unknown>;
  for (const key of at.slice(0, -1)) {
    node = node[key] as Record<string | number, unknown>;
  }
  node[at[at.length - 1]] = value;
}

/** Whether `path` is a field inside `parent`. */
function isInside(path: string, parent: string): boolean {
  return path.startsWith(parent + ".") || path.startsWith(parent + "[");
}

/** An error line names `path` itself or something inside it. */
function namesPath(errors: string[], path: string): boolean {
  return errors.some((line) =>
    line.startsWith(path + ":") || isInside(line, path)
  );
}

function validateSafely(raw: unknown) {
  try {
    return validateConfig(raw, env);
  } catch (error) {
    assert.fail(`validateConfig threw ${error} for ${safeJson(raw)}`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 400) ?? String(value);
  } catch {
    return String(value);
  }
}

Deno.test("the base config of the validator properties is valid", () => {
  const result = validateConfig(validConfig(), env);
  assert.deepEqual(result.ok ? [] : result.errors, []);
});

Deno.test("property: every invalid field is reported with its path, all at once", () => {
  const distinctMutations = fc.uniqueArray(
    fc.integer({ min: 0, max: MUTATIONS.length - 1 }),
    { minLength: 1, maxLength: 5 },
  ).filter((indexes) =>
    // A field inside another mutated field would be replaced with it.
    indexes.every((i) =>
      indexes.every((j) =>
        i === j || !isInside(MUTATIONS[j].path, MUTATIONS[i].path)
      )
    )
  ).chain((indexes) =>
    fc.tuple(
      ...indexes.map((i) =>
        MUTATIONS[i].bad.map((bad) => ({ field: MUTATIONS[i].path, bad }))
      ),
    )
  );
  const byPath = new Map(MUTATIONS.map((m) => [m.path, m]));
  fc.assert(
    fc.property(distinctMutations, (applied) => {
      const raw = validConfig();
      for (const { field, bad } of applied) {
        setAt(raw, byPath.get(field)!.at, bad);
      }
      const result = validateSafely(raw);
      assert.equal(result.ok, false, `accepted ${safeJson(raw)}`);
      if (result.ok) return;
      for (const { field, bad } of applied) {
        assert.ok(
          namesPath(result.errors, field),
          `no error at ${field} for ${safeJson(bad)}; got:\n${
            result.errors.join("\n")
          }`,
        );
      }
    }),
    { numRuns: 2000 },
  );
});

/** What `JSON.parse` can give, and plain JS values a Workers binding might. */
const jsonLike = fc.oneof(fc.jsonValue(), fc.anything());

Deno.test("property: the validator never throws, whatever it is fed", () => {
  const anywhere = fc.constantFrom(
    ...MUTATIONS.map((m) => m.at),
    ["routes", 0, "policy"],
    ["routes", 0, "auth"],
    ["routes", 1, "auth", "jwt"],
    ["routes", 0, "policy", "cors"],
    ["routes", 0, "policy", "rateLimit"],
    ["routes", 0, "policy", "retry"],
    ["defaults"],
    ["routes", 0],
    ["admin"],
    ["log"],
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(anywhere, jsonLike), {
        minLength: 1,
        maxLength: 4,
      }),
      (changes) => {
        const raw = validConfig();
        for (const [at, value] of changes) {
          try {
            setAt(raw, at, value);
          } catch {
            // an earlier change removed the parent object; skip this one
          }
        }
        const result = validateSafely(raw);
        if (!result.ok) {
          assert.ok(result.errors.length > 0);
          for (const line of result.errors) assert.match(line, /^[^\n]+?: \S/);
        }
      },
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(jsonLike, (raw) => {
      const result = validateSafely(raw);
      assert.equal(result.ok, false);
    }),
    { numRuns: 500 },
  );
});

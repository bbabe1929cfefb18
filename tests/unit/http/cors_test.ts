import assert from "node:assert/strict";
import type { CorsPolicy } from "../../../src/config/types.ts";
import { applyCors, corsPreflight } from "../../../src/http/cors.ts";

const APP = "https://app.example";

function policy(overrides: Partial<CorsPolicy> = {}): CorsPolicy {
  return {
    origins: [APP],
    methods: ["GET", "PUT", "DELETE"],
    headers: ["content-type", "x-trace"],
    exposeHeaders: ["x-request-id"],
    credentials: false,
    maxAgeSeconds: 600,
    ...overrides,
  };
}

function preflight(headers: Record<string, string>, method = "OPTIONS") {
  return new Request("http://gateway.test/api/items", { method, headers });
}

Deno.test("corsPreflight ignores requests that are not preflights", () => {
  assert.equal(
    corsPreflight(
      policy(),
      new Request("http://gw.test/", { headers: { origin: APP } }),
    ),
    null,
  );
  assert.equal(corsPreflight(policy(), preflight({ origin: APP })), null);
  assert.equal(
    corsPreflight(
      policy(),
      preflight(
        { origin: APP, "access-control-request-method": "PUT" },
        "POST",
      ),
    ),
    null,
  );
});

Deno.test("corsPreflight answers an allowed preflight with 204 and the allow headers", async () => {
  const response = corsPreflight(
    policy(),
    preflight({
      origin: APP,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "Content-Type, X-Trace",
    }),
  )!;
  assert.equal(response.status, 204);
  assert.equal(await response.text(), "");
  assert.equal(response.headers.get("access-control-allow-origin"), APP);
  assert.equal(
    response.headers.get("access-control-allow-methods"),
    "GET, PUT, DELETE",
  );
  assert.equal(
    response.headers.get("access-control-allow-headers"),
    "content-type, x-trace",
  );
  assert.equal(response.headers.get("access-control-max-age"), "600");
  assert.equal(response.headers.get("access-control-allow-credentials"), null);
  assert.match(response.headers.get("vary")!, /Origin/);
});

Deno.test("corsPreflight refuses an unknown origin, method or header with a bare 403", async () => {
  const refusals: Record<string, string>[] = [
    { origin: "https://evil.example", "access-control-request-method": "PUT" },
    {
      origin: "https://app.example.evil.example",
      "access-control-request-method": "PUT",
    },
    { origin: "null", "access-control-request-method": "PUT" },
    { "access-control-request-method": "PUT" },
    { origin: APP, "access-control-request-method": "PATCH" },
    {
      origin: APP,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "x-admin",
    },
  ];
  for (const headers of refusals) {
    const response = corsPreflight(policy(), preflight(headers))!;
    assert.equal(response.status, 403, JSON.stringify(headers));
    assert.equal(await response.text(), "");
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  }
});

Deno.test("corsPreflight lets safelisted methods through and matches origins case-insensitively", () => {
  const response = corsPreflight(
    policy({ origins: ["https://APP.example"] }),
    preflight({ origin: APP, "access-control-request-method": "POST" }),
  )!;
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), APP);
});

Deno.test("corsPreflight with credentials names the origin and allows credentials", () => {
  const response = corsPreflight(
    policy({ credentials: true }),
    preflight({ origin: APP, "access-control-request-method": "GET" }),
  )!;
  assert.equal(response.headers.get("access-control-allow-origin"), APP);
  assert.equal(
    response.headers.get("access-control-allow-credentials"),
    "true",
  );
});

Deno.test("wildcards: any origin as *, never with credentials; * methods and headers echo the request", () => {
  const response = corsPreflight(
    policy({
      origins: ["*"],
      methods: ["*"],
      headers: ["*"],
      credentials: true,
    }),
    preflight({
      origin: "https://anyone.example",
      "access-control-request-method": "PATCH",
      "access-control-request-headers": "x-one,x-two",
    }),
  )!;
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.equal(response.headers.get("access-control-allow-credentials"), null);
  assert.equal(response.headers.get("access-control-allow-methods"), "PATCH");
  assert.equal(
    response.headers.get("access-control-allow-headers"),
    "x-one, x-two",
  );
});

Deno.test("applyCors adds the allow headers for an allowed origin and replaces the upstream's", () => {
  const headers = new Headers({
    "access-control-allow-origin": "*",
    "access-control-allow-credentials": "true",
    "content-type": "application/json",
  });
  applyCors(policy({ credentials: true }), APP, headers);
  assert.equal(headers.get("access-control-allow-origin"), APP);
  assert.equal(headers.get("access-control-allow-credentials"), "true");
  assert.equal(headers.get("access-control-expose-headers"), "x-request-id");
  assert.equal(headers.get("vary"), "Origin");
  assert.equal(headers.get("content-type"), "application/json");
});

Deno.test("applyCors gives a refused or absent origin no allow headers, only Vary", () => {
  for (const origin of ["https://evil.example", null]) {
    const headers = new Headers({ "access-control-allow-origin": "*" });
    applyCors(policy(), origin, headers);
    assert.equal(headers.get("access-control-allow-origin"), null);
    assert.equal(headers.get("access-control-expose-headers"), null);
    assert.equal(headers.get("vary"), "Origin");
  }
});

Deno.test("applyCors merges into an existing Vary without duplicating Origin", () => {
  const cases = [
    ["Accept-Encoding", "Accept-Encoding, Origin"],
    ["accept-encoding, origin", "accept-encoding, origin"],
    ["*", "*"],
  ];
  for (const [vary, expected] of cases) {
    const headers = new Headers({ vary });
    applyCors(policy(), APP, headers);
    assert.equal(headers.get("vary"), expected);
  }
});

Deno.test("applyCors with a wildcard policy answers * without credentials", () => {
  const headers = new Headers();
  applyCors(
    policy({ origins: ["*"], credentials: true, exposeHeaders: [] }),
    "https://x.example",
    headers,
  );
  assert.equal(headers.get("access-control-allow-origin"), "*");
  assert.equal(headers.get("access-control-allow-credentials"), null);
  assert.equal(headers.get("access-control-expose-headers"), null);
});

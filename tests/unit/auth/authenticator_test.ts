import assert from "node:assert/strict";
import type { JwtAuth, RouteAuth } from "../../../src/config/types.ts";
import {
  createAuthenticator,
  inboundAuthHeaders,
} from "../../../src/auth/authenticator.ts";
import { claimHeaders } from "../../../src/auth/claim_headers.ts";
import { encodeBase64Url } from "../../_fixtures/base64url.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

const encoder = new TextEncoder();
const SECRET = "route-secret";
const CHALLENGE = `Bearer realm="gateway"`;
const INVALID = `Bearer realm="gateway", error="invalid_token"`;

async function signHs256(claims: Record<string, unknown>, secret = SECRET) {
  const part = (value: unknown) =>
    encodeBase64Url(encoder.encode(JSON.stringify(value)));
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(input),
  );
  return `${input}.${encodeBase64Url(new Uint8Array(signature))}`;
}

const jwt: JwtAuth = {
  algorithms: ["HS256"],
  secret: SECRET,
  jwks: null,
  jwksUrl: null,
  issuer: null,
  audience: null,
  leewaySeconds: 0,
  forwardClaims: { sub: "x-user-id", scope: "x-scope" },
};

function authenticator(auth: RouteAuth) {
  const noFetch: typeof fetch = () => Promise.reject(new Error("no network"));
  return createAuthenticator(auth, { fetch: noFetch, clock: new FakeClock() });
}

Deno.test("API keys: accepted from x-api-key or Bearer", async () => {
  const authenticate = authenticator({ apiKeys: ["k-1", "k-2"], jwt: null });
  const ok = { ok: true, claimHeaders: [] };
  assert.deepEqual(await authenticate(new Headers({ "x-api-key": "k-1" })), ok);
  assert.deepEqual(
    await authenticate(new Headers({ authorization: "Bearer k-2" })),
    ok,
  );
  assert.deepEqual(
    await authenticate(new Headers({ authorization: "bearer  k-2" })),
    ok,
  );
});

Deno.test("API keys: missing credentials get a challenge without an error code", async () => {
  const authenticate = authenticator({ apiKeys: ["k-1"], jwt: null });
  const missing = {
    ok: false,
    challenge: CHALLENGE,
    detail: "credentials are missing",
  };
  assert.deepEqual(await authenticate(new Headers()), missing);
  assert.deepEqual(
    await authenticate(new Headers({ authorization: "Basic azox" })),
    missing,
  );
});

Deno.test("API keys: wrong keys are refused with invalid_token", async () => {
  const authenticate = authenticator({ apiKeys: ["k-1"], jwt: null });
  const refused = {
    ok: false,
    challenge: INVALID,
    detail: "credentials are not valid",
  };
  for (
    const headers of [
      { "x-api-key": "k-2" },
      { "x-api-key": "" },
      { "x-api-key": "k-1x" },
      { authorization: "Bearer k-1 extra" },
      { authorization: "Bearer K-1" },
    ] as Record<string, string>[]
  ) {
    assert.deepEqual(await authenticate(new Headers(headers)), refused);
  }
});

Deno.test("JWT: a valid token passes and its claims become headers", async () => {
  const authenticate = authenticator({ apiKeys: [], jwt });
  const token = await signHs256({
    sub: "user-7",
    scope: "read write",
    other: 1,
  });
  assert.deepEqual(
    await authenticate(new Headers({ authorization: `Bearer ${token}` })),
    {
      ok: true,
      claimHeaders: [["x-user-id", "user-7"], ["x-scope", "read write"]],
    },
  );
});

Deno.test("JWT: a bad token is refused with the verifier's reason", async () => {
  const authenticate = authenticator({ apiKeys: [], jwt });
  const forged = await signHs256({ sub: "admin" }, "guessed-secret");
  assert.deepEqual(
    await authenticate(new Headers({ authorization: `Bearer ${forged}` })),
    { ok: false, challenge: INVALID, detail: "token signature is invalid" },
  );
});

Deno.test("JWT-only route: an opaque bearer or x-api-key is refused", async () => {
  const authenticate = authenticator({ apiKeys: [], jwt });
  for (
    const headers of [
      { authorization: "Bearer k-1" },
      { "x-api-key": "k-1" },
    ] as Record<string, string>[]
  ) {
    const result = await authenticate(new Headers(headers));
    assert.equal(result.ok, false);
  }
});

Deno.test("route with API keys and JWT accepts either", async () => {
  const authenticate = authenticator({ apiKeys: ["k-1"], jwt });
  const token = await signHs256({ sub: "user-7" });
  assert.deepEqual(await authenticate(new Headers({ "x-api-key": "k-1" })), {
    ok: true,
    claimHeaders: [],
  });
  assert.deepEqual(
    await authenticate(new Headers({ authorization: "Bearer k-1" })),
    {
      ok: true,
      claimHeaders: [],
    },
  );
  assert.deepEqual(
    await authenticate(new Headers({ authorization: `Bearer ${token}` })),
    { ok: true, claimHeaders: [["x-user-id", "user-7"]] },
  );
  const expired = await signHs256({ sub: "u", exp: 1 });
  assert.deepEqual(
    await authenticate(new Headers({ authorization: `Bearer ${expired}` })),
    { ok: false, challenge: INVALID, detail: "token has expired" },
  );
  // A valid key alongside an invalid token: the key is enough.
  assert.equal(
    (await authenticate(
      new Headers({ authorization: `Bearer ${expired}`, "x-api-key": "k-1" }),
    )).ok,
    true,
  );
});

Deno.test("JWT-shaped API keys still work on a route without JWT", async () => {
  const key = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
  const authenticate = authenticator({ apiKeys: [key], jwt: null });
  assert.equal(
    (await authenticate(new Headers({ authorization: `Bearer ${key}` }))).ok,
    true,
  );
});

Deno.test("claimHeaders: JSON for non-strings; absent, unsafe and inherited claims left out", () => {
  const forward = {
    sub: "x-user-id",
    roles: "x-roles",
    admin: "x-admin",
    name: "x-name",
    evil: "x-evil",
    missing: "x-missing",
    nothing: "x-nothing",
    constructor: "x-constructor",
    big: "x-big",
  };
  const claims = {
    sub: "u-1",
    roles: ["a", "b"],
    admin: false,
    name: "José",
    evil: "u\r\nx-admin: true",
    nothing: null,
    big: "x".repeat(5000),
  };
  assert.deepEqual(claimHeaders(claims, forward), [
    ["x-user-id", "u-1"],
    ["x-roles", '["a","b"]'],
    ["x-admin", "false"],
  ]);
});

Deno.test("inboundAuthHeaders names credentials and claim headers", () => {
  assert.deepEqual(inboundAuthHeaders({ apiKeys: ["k"], jwt: null }), [
    "authorization",
    "x-api-key",
  ]);
  assert.deepEqual(
    inboundAuthHeaders({
      apiKeys: [],
      jwt: { ...jwt, forwardClaims: { sub: "X-User-Id" } },
    }),
    ["authorization", "x-api-key", "x-user-id"],
  );
});

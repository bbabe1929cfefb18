/**
 * Edge security through the real gateway: API keys and JWTs (credentials
 * never forwarded, verified claims sent on), body limits (declared and
 * streamed), rate limits, and CORS answered at the edge.
 */
import assert from "node:assert/strict";
import { encodeBase64Url } from "../_fixtures/base64url.ts";
import { Origin } from "../_fixtures/origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

interface Echo {
  headers: [string, string][];
  bodyBytes: number;
}
const echoHeader = (echo: Echo, name: string) =>
  echo.headers.find(([key]) => key.toLowerCase() === name)?.[1];

async function hs256(secret: string, claims: Record<string, unknown>) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const head = encodeBase64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = encodeBase64Url(JSON.stringify(claims));
  const signature = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${encodeBase64Url(new Uint8Array(signature))}`;
}

Deno.test("API keys: 401 with a challenge without one; the key never reaches the upstream", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([`${origin.url}/echo`], { auth: { apiKeys: ["k-123"] } }),
  );
  const missing = await fetch(`${gw.url}/api/x`);
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal((await missing.json()).code, "unauthorized");
  const wrong = await fetch(`${gw.url}/api/x`, {
    headers: { "x-api-key": "k-124" },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  assert.equal(origin.requests.length, 0);

  const accepted: Record<string, string>[] = [
    { "x-api-key": "k-123" },
    { authorization: "Bearer k-123" },
  ];
  for (const headers of accepted) {
    const ok = await fetch(`${gw.url}/api/x`, { headers });
    assert.equal(ok.status, 200);
    const echo: Echo = await ok.json();
    assert.equal(echoHeader(echo, "x-api-key"), undefined);
    assert.equal(echoHeader(echo, "authorization"), undefined);
  }
});

Deno.test("JWT: valid tokens pass with claims forwarded; forged claim headers and bad tokens do not", async () => {
  await using origin = await Origin.start();
  const secret = "a-long-shared-secret-for-tests-only";
  await using gw = await startTestGateway(routeConfig([`${origin.url}/echo`], {
    auth: {
      jwt: {
        algorithms: ["HS256"],
        secret,
        issuer: "https://idp.test/",
        audience: "api",
        forwardClaims: { sub: "x-user-id" },
      },
    },
  }));
  const now = Math.floor(Date.now() / 1000);
  const good = await hs256(secret, {
    sub: "user-7",
    iss: "https://idp.test/",
    aud: "api",
    exp: now + 60,
  });
  const res = await fetch(`${gw.url}/api/me`, {
    headers: { authorization: `Bearer ${good}`, "x-user-id": "admin" },
  });
  assert.equal(res.status, 200);
  const echo: Echo = await res.json();
  assert.equal(echoHeader(echo, "x-user-id"), "user-7");
  assert.equal(echoHeader(echo, "authorization"), undefined);

  const expired = await hs256(secret, {
    sub: "u",
    iss: "https://idp.test/",
    aud: "api",
    exp: now - 3600,
  });
  const wrongAudience = await hs256(secret, {
    sub: "u",
    iss: "https://idp.test/",
    aud: "other",
    exp: now + 60,
  });
  const wrongKey = await hs256("another-secret-entirely-000000", {
    sub: "u",
    iss: "https://idp.test/",
    aud: "api",
    exp: now + 60,
  });
  for (const token of [expired, wrongAudience, wrongKey]) {
    const refused = await fetch(`${gw.url}/api/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(refused.status, 401);
    assert.match(
      refused.headers.get("www-authenticate") ?? "",
      /invalid_token/,
    );
    await refused.body?.cancel();
  }
  assert.equal(origin.requests.length, 1);
});

Deno.test("maxBodyBytes: a declared oversize body is 413 before the upstream; a streamed one is cut off", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(
    routeConfig([origin.url], { policy: { maxBodyBytes: 1000 } }),
  );
  const declared = await fetch(`${gw.url}/api/upload`, {
    method: "POST",
    body: new Uint8Array(5000),
  });
  assert.equal(declared.status, 413);
  assert.equal((await declared.json()).code, "payload_too_large");
  assert.equal(origin.requests.length, 0);

  let sent = 0;
  const streamed = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 10) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(400));
    },
  });
  const cut = await fetch(`${gw.url}/api/upload`, {
    method: "POST",
    body: streamed,
    // @ts-ignore: duplex is needed for a streamed request body
    duplex: "half",
  });
  assert.equal(cut.status, 413);
  await cut.body?.cancel();
  // Whatever reached the origin was never the whole body.
  for (const request of origin.requests) {
    assert.ok(request.body.length <= 1200, `${request.body.length} bytes`);
  }

  const small = await fetch(`${gw.url}/api/upload`, {
    method: "POST",
    body: new Uint8Array(900),
  });
  assert.equal((await small.json()).bytes, 900);
});

Deno.test("rate limit: 429 rate_limited with Retry-After past the allowance, per client", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([`${origin.url}/echo`], {
    policy: { rateLimit: { requests: 3, windowSeconds: 60 } },
  }));
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${gw.url}/api/x`);
    statuses.push(res.status);
    if (res.status === 429) {
      retryAfter = res.headers.get("retry-after");
      assert.equal((await res.json()).code, "rate_limited");
    } else await res.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.ok(
    Number(retryAfter) >= 1 && Number(retryAfter) <= 120,
    `Retry-After: ${retryAfter}`,
  );
  assert.equal(origin.requests.length, 3);
});

Deno.test("CORS: preflight answered at the edge; responses carry the allow headers", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([`${origin.url}/echo`], {
    methods: ["GET", "PUT"],
    policy: { cors: { origins: ["https://app.example"] } },
  }));
  const preflight = await fetch(`${gw.url}/api/x`, {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(
    preflight.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  assert.match(
    preflight.headers.get("access-control-allow-methods") ?? "",
    /PUT/,
  );
  const foreign = await fetch(`${gw.url}/api/x`, {
    method: "OPTIONS",
    headers: {
      origin: "https://evil.example",
      "access-control-request-method": "PUT",
    },
  });
  assert.equal(foreign.status, 403);
  await foreign.body?.cancel();
  assert.equal(origin.requests.length, 0);

  const res = await fetch(`${gw.url}/api/x`, {
    headers: { origin: "https://app.example" },
  });
  assert.equal(
    res.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  assert.match(res.headers.get("vary") ?? "", /Origin/i);
  await res.body?.cancel();
});

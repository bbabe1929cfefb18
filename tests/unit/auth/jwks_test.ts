import assert from "node:assert/strict";
import { createRemoteJwks, createStaticJwks } from "../../../src/auth/jwks.ts";
import { createJwtVerifier } from "../../../src/auth/jwt.ts";
import { encodeBase64Url } from "../../_fixtures/base64url.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

type Answer = { status?: number; body: unknown; cacheControl?: string };

/**
 * A loopback JWKS endpoint that counts fetches; `answer` decides each
 * response and can be swapped mid-test (key rotation, outages).
 */
function startJwksServer(initial: Answer) {
  let answer: Answer | (() => Promise<Answer>) = initial;
  let fetches = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      fetches++;
      const current = typeof answer === "function" ? await answer() : answer;
      const headers = new Headers({ "content-type": "application/json" });
      if (current.cacheControl) {
        headers.set("cache-control", current.cacheControl);
      }
      return new Response(
        typeof current.body === "string"
          ? current.body
          : JSON.stringify(current.body),
        { status: current.status ?? 200, headers },
      );
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    answer(next: Answer | (() => Promise<Answer>)) {
      answer = next;
    },
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const keyA = { kty: "EC", kid: "a", crv: "P-256", x: "xa", y: "ya" };
const keyB = { kty: "EC", kid: "b", crv: "P-256", x: "xb", y: "yb" };

Deno.test("static JWKS: selection by kid, all keys without one", async () => {
  const source = createStaticJwks({ keys: [keyA, keyB] });
  assert.deepEqual(await source.keysFor("b"), [keyB]);
  assert.deepEqual(await source.keysFor(undefined), [keyA, keyB]);
  assert.deepEqual(await source.keysFor("c"), []);
});

Deno.test("remote JWKS is fetched once and cached for max-age", async () => {
  await using server = startJwksServer({
    body: { keys: [keyA] },
    cacheControl: "public, max-age=120",
  });
  const clock = new FakeClock();
  const source = createRemoteJwks(server.url, { fetch, clock });
  assert.deepEqual(await source.keysFor("a"), [keyA]);
  assert.deepEqual(await source.keysFor(undefined), [keyA]);
  clock.advance(119_999);
  assert.deepEqual(await source.keysFor("a"), [keyA]);
  assert.equal(server.fetches, 1);
  clock.advance(1);
  await source.keysFor("a");
  assert.equal(server.fetches, 2);
});

Deno.test("max-age is clamped to [60 s, 1 h]; none means 5 min", async () => {
  const cases = [
    { cacheControl: "max-age=5", lifetimeMs: 60_000 },
    { cacheControl: "no-store", lifetimeMs: 300_000 },
    { cacheControl: "max-age=86400, must-revalidate", lifetimeMs: 3_600_000 },
    { cacheControl: undefined, lifetimeMs: 300_000 },
  ];
  for (const { cacheControl, lifetimeMs } of cases) {
    const server = startJwksServer({ body: { keys: [keyA] }, cacheControl });
    try {
      const clock = new FakeClock();
      const source = createRemoteJwks(server.url, { fetch, clock });
      await source.keysFor("a");
      clock.advance(lifetimeMs - 1);
      await source.keysFor("a");
      assert.equal(server.fetches, 1, `${cacheControl} still fresh`);
      clock.advance(1);
      await source.keysFor("a");
      assert.equal(server.fetches, 2, `${cacheControl} expired`);
    } finally {
      await server.close();
    }
  }
});

Deno.test("concurrent lookups share one fetch", async () => {
  await using server = startJwksServer({ body: { keys: [keyA, keyB] } });
  const source = createRemoteJwks(server.url, {
    fetch,
    clock: new FakeClock(),
  });
  const results = await Promise.all(
    ["a", "b", "a", undefined, "zzz"].map((kid) => source.keysFor(kid)),
  );
  assert.equal(server.fetches, 1);
  assert.deepEqual(results.map((keys) => keys.length), [1, 1, 1, 2, 0]);
});

Deno.test("an unknown kid refetches at most once per 30 s", async () => {
  await using server = startJwksServer({
    body: { keys: [keyA] },
    cacheControl: "max-age=3600",
  });
  const clock = new FakeClock();
  const source = createRemoteJwks(server.url, { fetch, clock });
  await source.keysFor("a");
  clock.advance(29_999);
  // Within 30 s of the first fetch: garbage kids cause no traffic.
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await source.keysFor(`x${i}`), []);
  }
  assert.equal(server.fetches, 1);
  clock.advance(1);
  assert.deepEqual(await source.keysFor("x"), []);
  assert.equal(server.fetches, 2);
  for (let i = 0; i < 20; i++) await source.keysFor(`y${i}`);
  assert.equal(server.fetches, 2);
  // A known kid never triggers a fetch while fresh.
  clock.advance(60_000);
  await source.keysFor("a");
  assert.equal(server.fetches, 2);
});

Deno.test("a failed refresh keeps the previous keys and is reported", async () => {
  await using server = startJwksServer({
    body: { keys: [keyA] },
    cacheControl: "max-age=60",
  });
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const source = createRemoteJwks(server.url, { fetch, clock }, {
    onFetchError: (error) => errors.push(error),
  });
  await source.keysFor("a");
  server.answer({ status: 503, body: "down" });
  clock.advance(60_000);
  assert.deepEqual(await source.keysFor("a"), [keyA]);
  assert.equal(server.fetches, 2);
  assert.match(String(errors[0]), /503/);
  // The failure counts as an attempt: no retry for 30 s.
  clock.advance(29_999);
  await source.keysFor("a");
  assert.equal(server.fetches, 2);
  server.answer({ body: { keys: [keyB] }, cacheControl: "max-age=60" });
  clock.advance(1);
  assert.deepEqual(await source.keysFor("b"), [keyB]);
  assert.deepEqual(await source.keysFor("a"), []);
  assert.equal(server.fetches, 3);
});

Deno.test("a JWKS response that is not a key set gives no keys", async () => {
  for (const body of ["not json", { keys: "nope" }, [keyA]]) {
    const server = startJwksServer({ body });
    try {
      const errors: unknown[] = [];
      const source = createRemoteJwks(server.url, {
        fetch,
        clock: new FakeClock(),
      }, {
        onFetchError: (error) => errors.push(error),
      });
      assert.deepEqual(await source.keysFor("a"), []);
      assert.equal(errors.length, 1);
    } finally {
      await server.close();
    }
  }
});

Deno.test("a JWKS endpoint that never answers is abandoned at the timeout", async () => {
  const arrived = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const server = startJwksServer({ body: {} });
  server.answer(async () => {
    arrived.resolve();
    await release.promise;
    return { body: { keys: [keyA] } };
  });
  try {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const source = createRemoteJwks(server.url, { fetch, clock }, {
      timeoutMs: 2000,
      onFetchError: (error) => errors.push(error),
    });
    const lookup = source.keysFor("a");
    await arrived.promise;
    clock.advance(1999);
    assert.equal(errors.length, 0);
    clock.advance(1);
    assert.deepEqual(await lookup, []);
    assert.match(String(errors[0]), /timed out after 2000 ms/);
    assert.equal(clock.pending(), 0);
  } finally {
    release.resolve();
    await server.close();
  }
});

const encoder = new TextEncoder();
async function signEs256(kid: string, key: CryptoKey, claims: object) {
  const input = `${
    encodeBase64Url(encoder.encode(JSON.stringify({ alg: "ES256", kid })))
  }.${encodeBase64Url(encoder.encode(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    encoder.encode(input),
  );
  return `${input}.${encodeBase64Url(new Uint8Array(signature))}`;
}

Deno.test("key rotation: a token under a new kid is verified after one refetch", async () => {
  const generate = () =>
    crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
  const [oldPair, newPair] = await Promise.all([generate(), generate()]);
  const jwk = async (pair: CryptoKeyPair, kid: string) => ({
    ...await crypto.subtle.exportKey("jwk", pair.publicKey),
    kid,
  });
  await using server = startJwksServer({
    body: { keys: [await jwk(oldPair, "2024")] },
    cacheControl: "max-age=3600",
  });
  const clock = new FakeClock();
  const verify = createJwtVerifier({
    algorithms: ["ES256"],
    secret: null,
    jwks: null,
    jwksUrl: server.url,
    issuer: null,
    audience: null,
    leewaySeconds: 0,
    forwardClaims: {},
  }, { fetch, clock });
  const oldToken = await signEs256("2024", oldPair.privateKey, { sub: "u" });
  const newToken = await signEs256("2025", newPair.privateKey, { sub: "u" });
  assert.equal((await verify(oldToken)).ok, true);
  assert.equal((await verify(oldToken)).ok, true);
  assert.equal(server.fetches, 1);
  // The issuer rotates; the cache is still fresh but lacks the new kid.
  server.answer({
    body: { keys: [await jwk(oldPair, "2024"), await jwk(newPair, "2025")] },
    cacheControl: "max-age=3600",
  });
  clock.advance(30_000);
  assert.equal((await verify(newToken)).ok, true);
  assert.equal((await verify(newToken)).ok, true);
  assert.equal((await verify(oldToken)).ok, true);
  assert.equal(server.fetches, 2);
});

import assert from "node:assert/strict";
import type { JwtAlgorithm, JwtAuth } from "../../../src/config/types.ts";
import { encodeBase64Url } from "../../_fixtures/base64url.ts";
import { createJwtVerifier, looksLikeJwt } from "../../../src/auth/jwt.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";

const encoder = new TextEncoder();

function encodeJson(value: unknown): string {
  return encodeBase64Url(encoder.encode(JSON.stringify(value)));
}

const SIGN_PARAMS = {
  HS256: { name: "HMAC" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
};

/** A compact JWS signed with WebCrypto, the way an issuer would. */
async function signJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: CryptoKey,
  alg: JwtAlgorithm = header.alg as JwtAlgorithm,
): Promise<string> {
  const signingInput = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign(
    SIGN_PARAMS[alg],
    key,
    encoder.encode(signingInput),
  );
  return `${signingInput}.${encodeBase64Url(new Uint8Array(signature))}`;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

function rsaKeyPair(modulusLength = 2048): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
}

function ecKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
}

async function publicJwk(pair: CryptoKeyPair, kid: string) {
  return { ...await crypto.subtle.exportKey("jwk", pair.publicKey), kid };
}

function jwtConfig(overrides: Partial<JwtAuth>): JwtAuth {
  return {
    algorithms: ["HS256"],
    secret: null,
    jwks: null,
    jwksUrl: null,
    issuer: null,
    audience: null,
    leewaySeconds: 0,
    forwardClaims: {},
    ...overrides,
  };
}

/** Flips one bit in the middle of the signature part. */
function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split(".");
  const i = Math.floor(signature.length / 2);
  const flipped = signature[i] === "A" ? "B" : "A";
  return `${header}.${payload}.${signature.slice(0, i)}${flipped}${
    signature.slice(i + 1)
  }`;
}

const noFetch: typeof fetch = () => {
  throw new Error("no network expected");
};

const SECRET = "a-shared-secret-of-reasonable-length";
const rsa = await rsaKeyPair();
const rsaOther = await rsaKeyPair();
const ec = await ecKeyPair();
const inlineJwks = {
  keys: [
    await publicJwk(rsaOther, "rsa-old"),
    await publicJwk(rsa, "rsa-1"),
    await publicJwk(ec, "ec-1"),
  ],
};

function setup(overrides: Partial<JwtAuth>) {
  const clock = new FakeClock();
  const nowSeconds = Math.floor(clock.now() / 1000);
  const verify = createJwtVerifier(jwtConfig(overrides), {
    fetch: noFetch,
    clock,
  });
  return { clock, nowSeconds, verify };
}

Deno.test("HS256, RS256 and ES256 tokens with good signatures are accepted", async () => {
  const { verify, nowSeconds } = setup({
    algorithms: ["HS256", "RS256", "ES256"],
    secret: SECRET,
    jwks: inlineJwks,
  });
  const claims = { sub: "user-7", exp: nowSeconds + 60 };
  const hs = await signJwt(
    { alg: "HS256", typ: "JWT" },
    claims,
    await hmacKey(SECRET),
  );
  const rs = await signJwt(
    { alg: "RS256", kid: "rsa-1" },
    claims,
    rsa.privateKey,
  );
  const es = await signJwt(
    { alg: "ES256", kid: "ec-1" },
    claims,
    ec.privateKey,
  );
  for (const token of [hs, rs, es]) {
    assert.deepEqual(await verify(token), { ok: true, claims });
  }
});

Deno.test("a token without kid is checked against every key of its family", async () => {
  const { verify } = setup({ algorithms: ["RS256"], jwks: inlineJwks });
  const token = await signJwt({ alg: "RS256" }, { sub: "a" }, rsa.privateKey);
  assert.equal((await verify(token)).ok, true);
});

Deno.test("a tampered signature or payload is refused for every algorithm", async () => {
  const { verify } = setup({
    algorithms: ["HS256", "RS256", "ES256"],
    secret: SECRET,
    jwks: inlineJwks,
  });
  const claims = { sub: "user-7" };
  const tokens = [
    await signJwt({ alg: "HS256" }, claims, await hmacKey(SECRET)),
    await signJwt({ alg: "RS256", kid: "rsa-1" }, claims, rsa.privateKey),
    await signJwt({ alg: "ES256", kid: "ec-1" }, claims, ec.privateKey),
  ];
  for (const token of tokens) {
    assert.deepEqual(await verify(tamperSignature(token)), {
      ok: false,
      detail: "token signature is invalid",
    });
    const [header, , signature] = token.split(".");
    const forged = `${header}.${encodeJson({ sub: "admin" })}.${signature}`;
    assert.deepEqual(await verify(forged), {
      ok: false,
      detail: "token signature is invalid",
    });
  }
});

Deno.test("a token signed with the wrong secret or another key is refused", async () => {
  const { verify } = setup({
    algorithms: ["HS256", "RS256"],
    secret: SECRET,
    jwks: inlineJwks,
  });
  const wrongSecret = await signJwt(
    { alg: "HS256" },
    {},
    await hmacKey("other"),
  );
  assert.equal((await verify(wrongSecret)).ok, false);
  // Signed by rsa-old's owner but claiming to be rsa-1.
  const wrongKey = await signJwt(
    { alg: "RS256", kid: "rsa-1" },
    {},
    rsaOther.privateKey,
  );
  assert.deepEqual(await verify(wrongKey), {
    ok: false,
    detail: "token signature is invalid",
  });
});

Deno.test("alg confusion: an HS256 token keyed with the RSA public key is refused", async () => {
  const jwk = await publicJwk(rsa, "rsa-1");
  const spki = new Uint8Array(
    await crypto.subtle.exportKey("spki", rsa.publicKey),
  );
  const pem = `-----BEGIN PUBLIC KEY-----\n${
    btoa(String.fromCharCode(...spki))
  }\n-----END PUBLIC KEY-----\n`;
  const attackerKeys = [
    await crypto.subtle.importKey(
      "raw",
      encoder.encode(pem),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ),
    await crypto.subtle.importKey(
      "raw",
      spki,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ),
    await crypto.subtle.importKey(
      "raw",
      encoder.encode(JSON.stringify(jwk)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ),
  ];
  // Route allows RS256 only: HS256 is outside the allow-list.
  const rsOnly = setup({ algorithms: ["RS256"], jwks: inlineJwks }).verify;
  // Route allows both but has no secret: public keys are never HMAC keys.
  const both =
    setup({ algorithms: ["HS256", "RS256"], jwks: inlineJwks }).verify;
  for (const key of attackerKeys) {
    const token = await signJwt({ alg: "HS256", kid: "rsa-1" }, {
      sub: "admin",
    }, key);
    assert.deepEqual(await rsOnly(token), {
      ok: false,
      detail: "token algorithm is not allowed",
    });
    assert.deepEqual(await both(token), {
      ok: false,
      detail: "no signing key matches the token",
    });
  }
});

Deno.test("alg none is refused, even if the allow-list names it", async () => {
  const unsigned = `${encodeJson({ alg: "none" })}.${
    encodeJson({ sub: "admin" })
  }.`;
  assert.equal(looksLikeJwt(unsigned), true);
  for (const algorithms of [["HS256"], ["none", "HS256"]]) {
    const { verify } = setup({
      algorithms: algorithms as JwtAlgorithm[],
      secret: SECRET,
    });
    assert.deepEqual(await verify(unsigned), {
      ok: false,
      detail: "token algorithm is not allowed",
    });
    const noneCased = `${encodeJson({ alg: "None" })}.${encodeJson({})}.`;
    assert.equal((await verify(noneCased)).ok, false);
  }
});

Deno.test("an RS256 token on an ES256-only route is refused", async () => {
  const { verify } = setup({ algorithms: ["ES256"], jwks: inlineJwks });
  const token = await signJwt(
    { alg: "RS256", kid: "rsa-1" },
    {},
    rsa.privateKey,
  );
  assert.deepEqual(await verify(token), {
    ok: false,
    detail: "token algorithm is not allowed",
  });
});

Deno.test("an ES256 token whose kid names an RSA key finds no key", async () => {
  const { verify } = setup({
    algorithms: ["ES256", "RS256"],
    jwks: inlineJwks,
  });
  const token = await signJwt(
    { alg: "ES256", kid: "rsa-1" },
    {},
    ec.privateKey,
  );
  assert.deepEqual(await verify(token), {
    ok: false,
    detail: "no signing key matches the token",
  });
});

Deno.test("exp is enforced with leeway", async () => {
  const key = await hmacKey(SECRET);
  const strict = setup({ secret: SECRET });
  const lenient = setup({ secret: SECRET, leewaySeconds: 30 });
  const now = strict.nowSeconds;
  const expiredNow = await signJwt({ alg: "HS256" }, { exp: now }, key);
  const expired10s = await signJwt({ alg: "HS256" }, { exp: now - 10 }, key);
  const expired60s = await signJwt({ alg: "HS256" }, { exp: now - 60 }, key);
  const valid = await signJwt({ alg: "HS256" }, { exp: now + 1 }, key);
  const expired = { ok: false, detail: "token has expired" };
  assert.deepEqual(await strict.verify(expiredNow), expired);
  assert.deepEqual(await strict.verify(expired10s), expired);
  assert.equal((await strict.verify(valid)).ok, true);
  assert.equal((await lenient.verify(expired10s)).ok, true);
  assert.deepEqual(await lenient.verify(expired60s), expired);
  // Time moves: the valid token expires once the clock passes exp.
  strict.clock.advance(1000);
  assert.deepEqual(await strict.verify(valid), expired);
});

Deno.test("nbf is enforced with leeway", async () => {
  const key = await hmacKey(SECRET);
  const strict = setup({ secret: SECRET });
  const lenient = setup({ secret: SECRET, leewaySeconds: 30 });
  const soon = await signJwt(
    { alg: "HS256" },
    { nbf: strict.nowSeconds + 10 },
    key,
  );
  assert.deepEqual(await strict.verify(soon), {
    ok: false,
    detail: "token is not valid yet",
  });
  assert.equal((await lenient.verify(soon)).ok, true);
  strict.clock.advance(10_000);
  assert.equal((await strict.verify(soon)).ok, true);
});

Deno.test("exp and nbf that are not numbers are refused", async () => {
  const key = await hmacKey(SECRET);
  const { verify } = setup({ secret: SECRET });
  const stringExp = await signJwt({ alg: "HS256" }, { exp: "9999999999" }, key);
  const stringNbf = await signJwt({ alg: "HS256" }, { nbf: "0" }, key);
  assert.equal((await verify(stringExp)).ok, false);
  assert.equal((await verify(stringNbf)).ok, false);
});

Deno.test("iss must match when configured", async () => {
  const key = await hmacKey(SECRET);
  const { verify } = setup({
    secret: SECRET,
    issuer: "https://issuer.example",
  });
  const good = await signJwt({ alg: "HS256" }, {
    iss: "https://issuer.example",
  }, key);
  const wrong = await signJwt(
    { alg: "HS256" },
    { iss: "https://evil.example" },
    key,
  );
  const missing = await signJwt({ alg: "HS256" }, {}, key);
  assert.equal((await verify(good)).ok, true);
  const refused = { ok: false, detail: "token issuer is not accepted" };
  assert.deepEqual(await verify(wrong), refused);
  assert.deepEqual(await verify(missing), refused);
});

Deno.test("aud must contain the configured audience, as a string or in an array", async () => {
  const key = await hmacKey(SECRET);
  const { verify } = setup({ secret: SECRET, audience: "gateway" });
  const refused = { ok: false, detail: "token audience is not accepted" };
  const token = (aud: unknown) =>
    signJwt({ alg: "HS256" }, aud === undefined ? {} : { aud }, key);
  assert.equal((await verify(await token("gateway"))).ok, true);
  assert.equal((await verify(await token(["billing", "gateway"]))).ok, true);
  assert.deepEqual(await verify(await token("billing")), refused);
  assert.deepEqual(await verify(await token(["billing"])), refused);
  assert.deepEqual(await verify(await token(undefined)), refused);
  assert.deepEqual(await verify(await token("gateway-extra")), refused);
});

Deno.test("an unknown kid finds no key", async () => {
  const { verify } = setup({ algorithms: ["RS256"], jwks: inlineJwks });
  const token = await signJwt(
    { alg: "RS256", kid: "rsa-2" },
    {},
    rsa.privateKey,
  );
  assert.deepEqual(await verify(token), {
    ok: false,
    detail: "no signing key matches the token",
  });
});

Deno.test("keys marked for encryption or another alg, and short RSA keys, are not used", async () => {
  const weak = await rsaKeyPair(1024);
  const jwks = {
    keys: [
      { ...await publicJwk(rsa, "enc"), use: "enc" },
      { ...await publicJwk(rsa, "ps"), alg: "PS256" },
      await publicJwk(weak, "weak"),
    ],
  };
  const { verify } = setup({ algorithms: ["RS256"], jwks });
  for (
    const [kid, key] of [["enc", rsa], ["ps", rsa], ["weak", weak]] as const
  ) {
    const token = await signJwt({ alg: "RS256", kid }, {}, key.privateKey);
    assert.deepEqual(await verify(token), {
      ok: false,
      detail: "no signing key matches the token",
    }, kid);
  }
});

Deno.test("a crit header is refused", async () => {
  const { verify } = setup({ secret: SECRET });
  const token = await signJwt(
    { alg: "HS256", crit: ["exp"] },
    {},
    await hmacKey(SECRET),
  );
  assert.deepEqual(await verify(token), {
    ok: false,
    detail: "token has unsupported critical headers",
  });
});

Deno.test("malformed tokens are refused without throwing", async () => {
  const { verify } = setup({ secret: SECRET });
  const good = await signJwt({ alg: "HS256" }, {}, await hmacKey(SECRET));
  const [header, payload, signature] = good.split(".");
  const malformed = [
    "",
    "abc",
    `${header}.${payload}`,
    `${header}.${payload}.${signature}.extra`,
    `${header}=.${payload}.${signature}`,
    `${header}.${encodeBase64Url(encoder.encode("[1,2]"))}.${signature}`,
    `${header}.${encodeBase64Url(encoder.encode("not json"))}.${signature}`,
    `${header}.${encodeBase64Url(new Uint8Array([0xff, 0xfe]))}.${signature}`,
    `${header}.${payload}.${signature}!`,
    `${encodeJson({ alg: "HS256", kid: 7 })}.${payload}.${signature}`,
    `${header}.${"A".repeat(20_000)}.${signature}`,
  ];
  for (const token of malformed) {
    const result = await verify(token);
    assert.equal(result.ok, false, token.slice(0, 60));
  }
});

Deno.test("looksLikeJwt tells JWTs from opaque keys", () => {
  assert.equal(looksLikeJwt("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"), true);
  assert.equal(looksLikeJwt("eyJhbGciOiJub25lIn0.e30."), true);
  assert.equal(looksLikeJwt("k-123"), false);
  assert.equal(looksLikeJwt("a.b.c"), false);
  assert.equal(looksLikeJwt("eyJ.x"), false);
  assert.equal(looksLikeJwt("eyJ a.b.c"), false);
});

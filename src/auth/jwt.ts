/**
 * JWT (JWS compact form) verification with WebCrypto only.
 *
 * What is refused, and why:
 * - any `alg` outside the route's allow-list, and `none` always: the token
 *   must not choose how it is checked;
 * - HS256 against anything but the configured secret, and RS256/ES256
 *   against anything but RSA / P-256 public keys: a public key is never used
 *   as an HMAC secret (algorithm confusion);
 * - a `crit` header: we implement no extensions, so none can be critical;
 * - RSA keys under 2048 bits.
 * The signature is checked before any claim, so claim errors are only ever
 * reported for tokens the issuer really signed.
 */
import type { Clock } from "../resilience/clock.ts";
import type { JwtAlgorithm, JwtAuth } from "../config/types.ts";
import { decodeBase64Url } from "./base64url.ts";
import {
  createRemoteJwks,
  createStaticJwks,
  type JwksSource,
  type PublishedJwk,
} from "./jwks.ts";

/** The outcome of checking one token. */
export type JwtVerification =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; detail: string };

/** Options for {@linkcode createJwtVerifier} beyond the route's config. */
export interface JwtVerifierDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** Told about failed JWKS fetches (for logs). */
  onJwksFetchError?: (error: unknown) => void;
}

/** Tokens longer than this are refused before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;
const MIN_RSA_MODULUS_BITS = 2048;
const SUPPORTED: ReadonlySet<string> = new Set(["HS256", "RS256", "ES256"]);
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Whether a bearer credential has the shape of a JWT (three base64url parts,
 * the first a JSON object), as opposed to an opaque API key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeJwt } from "./jwt.ts";
 * assert.equal(looksLikeJwt("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"), true);
 * assert.equal(looksLikeJwt("k-123"), false);
 * ```
 */
export function looksLikeJwt(credential: string): boolean {
  return JWT_SHAPE.test(credential);
}

/**
 * Builds a token check for one route's `jwt` config. Keys are imported once
 * and reused; a remote JWKS is fetched lazily on the first token.
 *
 * @example
 * ```ts ignore
 * import { createJwtVerifier } from "./jwt.ts";
 * import { systemClock } from "../resilience/clock.ts";
 * const verify = createJwtVerifier(route.auth.jwt, { fetch, clock: systemClock });
 * const result = await verify(token);
 * if (result.ok) console.log(result.claims.sub);
 * ```
 */
export function createJwtVerifier(
  config: JwtAuth,
  deps: JwtVerifierDeps,
): (token: string) => Promise<JwtVerification> {
  const allowed = new Set(
    config.algorithms.filter((alg) => SUPPORTED.has(alg)),
  );
  // Imported on first use: a promise started here would run unawaited until
  // a token arrives.
  let hmacKey: Promise<CryptoKey> | undefined;
  const hmacKeyOnce = () =>
    hmacKey ??= crypto.subtle.importKey(
      "raw",
      encoder.encode(config.secret!),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
  const jwks = jwksSource(config, deps);
  const importedKeys = new WeakMap<PublishedJwk, Promise<CryptoKey | null>>();

  function importOnce(jwk: PublishedJwk): Promise<CryptoKey | null> {
    let imported = importedKeys.get(jwk);
    if (imported === undefined) {
      imported = importPublicKey(jwk);
      importedKeys.set(jwk, imported);
    }
    return imported;
  }

  async function candidateKeys(
    alg: JwtAlgorithm,
    kid: string | undefined,
  ): Promise<CryptoKey[]> {
    if (alg === "HS256") {
      return config.secret === null ? [] : [await hmacKeyOnce()];
    }
    if (jwks === null) return [];
    const usable = (await jwks.keysFor(kid)).filter((jwk) =>
      keyFitsAlgorithm(jwk, alg)
    );
    const imported = await Promise.all(usable.map(importOnce));
    return imported.filter((key): key is CryptoKey => key !== null);
  }

  return async function verifyJwt(token) {
    const parsed = parseToken(token);
    if (parsed === null) return { ok: false, detail: "token is malformed" };
    const { header, claims, signingInput, signature } = parsed;
    const alg = header.alg;
    if (typeof alg !== "string" || !allowed.has(alg as JwtAlgorithm)) {
      return { ok: false, detail: "token algorithm is not allowed" };
    }
    if (header.crit !== undefined) {
      return { ok: false, detail: "token has unsupported critical headers" };
    }
    if (header.kid !== undefined && typeof header.kid !== "string") {
      return { ok: false, detail: "token is malformed" };
    }
    const keys = await candidateKeys(alg as JwtAlgorithm, header.kid);
    if (keys.length === 0) {
      return { ok: false, detail: "no signing key matches the token" };
    }
    let verified = false;
    for (const key of keys) {
      if (
        await verifySignature(alg as JwtAlgorithm, key, signature, signingInput)
      ) {
        verified = true;
        break;
      }
    }
    if (!verified) return { ok: false, detail: "token signature is invalid" };
    const claimProblem = checkClaims(claims, config, deps.clock.now() / 1000);
    return claimProblem === null
      ? { ok: true, claims }
      : { ok: false, detail: claimProblem };
  };
}

function jwksSource(config: JwtAuth, deps: JwtVerifierDeps): JwksSource | null {
  if (config.jwks !== null) return createStaticJwks(config.jwks);
  if (config.jwksUrl !== null) {
    return createRemoteJwks(config.jwksUrl, deps, {
      onFetchError: deps.onJwksFetchError,
    });
  }
  return null;
}

interface ParsedToken {
  header: { alg?: unknown; kid?: unknown; crit?: unknown };
  claims: Record<string, unknown>;
  signingInput: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

function parseToken(token: string): ParsedToken | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const header = decodeJsonObject(parts[0]);
  const claims = decodeJsonObject(parts[1]);
  const signature = decodeBase64Url(parts[2]);
  if (header === null || claims === null || signature === null) return null;
  return {
    header,
    claims,
    signingInput: encoder.encode(`${parts[0]}.${parts[1]}`),
    signature,
  };
}

function decodeJsonObject(part: string): Record<string, unknown> | null {
  const bytes = decodeBase64Url(part);
  if (bytes === null) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/** Only public keys of the algorithm's own family are ever used. */
function keyFitsAlgorithm(jwk: PublishedJwk, alg: JwtAlgorithm): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg === "RS256") return jwk.kty === "RSA";
  if (alg === "ES256") return jwk.kty === "EC" && jwk.crv === "P-256";
  return false;
}

/**
 * Imports the public part only: private members and `key_ops` from a JWKS
 * are dropped, so a published private key cannot break the import.
 */
async function importPublicKey(jwk: PublishedJwk): Promise<CryptoKey | null> {
  try {
    if (jwk.kty === "RSA") {
      const key = await crypto.subtle.importKey(
        "jwk",
        { kty: "RSA", n: jwk.n, e: jwk.e },
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["verify"],
      );
      const { modulusLength } = key.algorithm as RsaHashedKeyAlgorithm;
      return modulusLength >= MIN_RSA_MODULUS_BITS ? key : null;
    }
    return await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
  } catch {
    return null;
  }
}

/** ES256 signatures are JOSE `r||s`, the form WebCrypto's ECDSA verify takes. */
async function verifySignature(
  alg: JwtAlgorithm,
  key: CryptoKey,
  signature: Uint8Array<ArrayBuffer>,
  signingInput: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const params = alg === "ES256"
    ? { name: "ECDSA", hash: "SHA-256" }
    : alg === "RS256"
    ? { name: "RSASSA-PKCS1-v1_5" }
    : { name: "HMAC" };
  try {
    return await crypto.subtle.verify(params, key, signature, signingInput);
  } catch {
    return false;
  }
}

/** The first claim that fails, as a client-facing sentence, or `null`. */
function checkClaims(
  claims: Record<string, unknown>,
  config: JwtAuth,
  nowSeconds: number,
): string | null {
  const { exp, nbf, iss, aud } = claims;
  const leeway = config.leewaySeconds;
  if (exp !== undefined) {
    if (typeof exp !== "number") return "token exp claim is not a number";
    if (nowSeconds >= exp + leeway) return "token has expired";
  }
  if (nbf !== undefined) {
    if (typeof nbf !== "number") return "token nbf claim is not a number";
    if (nowSeconds + leeway < nbf) return "token is not valid yet";
  }
  if (config.issuer !== null && iss !== config.issuer) {
    return "token issuer is not accepted";
  }
  if (config.audience !== null) {
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(config.audience)) {
      return "token audience is not accepted";
    }
  }
  return null;
}

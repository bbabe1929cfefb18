/**
 * Per-route authentication: API keys, JWTs, or either.
 *
 * Credentials are read from `x-api-key` and `Authorization: Bearer …`. A
 * bearer credential shaped like a JWT goes to the JWT verifier when the route
 * has one; anything else is treated as an API key. The caller strips the
 * headers named by {@linkcode inboundAuthHeaders} before forwarding, pass or
 * fail, so credentials never reach the upstream and clients cannot forge the
 * verified-claim headers.
 */
import type { Clock } from "../resilience/clock.ts";
import type { RouteAuth } from "../config/types.ts";
import { createApiKeyCheck } from "./api_keys.ts";
import { createJwtVerifier, looksLikeJwt } from "./jwt.ts";
import { claimHeaders } from "./claim_headers.ts";

/** The outcome of authenticating one request. */
export type AuthResult =
  /** `claimHeaders`: verified-claim headers to add upstream (from `jwt.forwardClaims`). */
  | { ok: true; claimHeaders: [string, string][] }
  /** `challenge`: the `WWW-Authenticate` value; `detail`: for the problem body. */
  | { ok: false; challenge: string; detail: string };

/** What an authenticator needs from outside. */
export interface AuthenticatorDeps {
  /** Used for remote JWKS only. */
  fetch: typeof fetch;
  clock: Clock;
  /** Told about failed JWKS fetches (for logs). */
  onJwksFetchError?: (error: unknown) => void;
}

const REALM = `Bearer realm="gateway"`;
const BEARER = /^Bearer +(.*?) *$/i;

/**
 * Builds the route's verifier once at start-up (keys hashed and imported
 * once). The credentials it reads (`x-api-key`, `Authorization`) are removed
 * by the caller before forwarding, always, whether auth passed or not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthenticator } from "./authenticator.ts";
 * import { systemClock } from "../resilience/clock.ts";
 * const authenticate = createAuthenticator(
 *   { apiKeys: ["k-1"], jwt: null },
 *   { fetch, clock: systemClock },
 * );
 * const result = await authenticate(new Headers({ "x-api-key": "k-1" }));
 * assert.deepEqual(result, { ok: true, claimHeaders: [] });
 * const wrong = await authenticate(new Headers({ "x-api-key": "k-2" }));
 * assert.equal(wrong.ok, false);
 * ```
 */
export function createAuthenticator(
  auth: RouteAuth,
  deps: AuthenticatorDeps,
): (headers: Headers) => Promise<AuthResult> {
  const isValidApiKey = auth.apiKeys.length > 0
    ? createApiKeyCheck(auth.apiKeys)
    : null;
  const verifyJwt = auth.jwt === null
    ? null
    : createJwtVerifier(auth.jwt, deps);
  const forwardClaims = auth.jwt?.forwardClaims ?? {};

  return async function authenticate(headers) {
    const bearer = headers.get("authorization")?.match(BEARER)?.[1] ?? null;
    const apiKey = headers.get("x-api-key");
    if (bearer === null && apiKey === null) {
      return { ok: false, challenge: REALM, detail: "credentials are missing" };
    }
    let detail = "credentials are not valid";
    const bearerIsJwt = bearer !== null && verifyJwt !== null &&
      looksLikeJwt(bearer);
    if (bearerIsJwt) {
      const verification = await verifyJwt(bearer);
      if (verification.ok) {
        return {
          ok: true,
          claimHeaders: claimHeaders(verification.claims, forwardClaims),
        };
      }
      detail = verification.detail;
    }
    if (isValidApiKey !== null) {
      if (apiKey !== null && await isValidApiKey(apiKey)) {
        return { ok: true, claimHeaders: [] };
      }
      if (bearer !== null && !bearerIsJwt && await isValidApiKey(bearer)) {
        return { ok: true, claimHeaders: [] };
      }
    }
    return {
      ok: false,
      challenge: `${REALM}, error="invalid_token"`,
      detail,
    };
  };
}

/**
 * Request headers the caller must delete before forwarding on a route with
 * this auth: the credentials, and the headers verified claims are sent in
 * (so a client cannot send its own `x-user-id`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inboundAuthHeaders } from "./authenticator.ts";
 * assert.deepEqual(inboundAuthHeaders({ apiKeys: ["k"], jwt: null }), ["authorization", "x-api-key"]);
 * ```
 */
export function inboundAuthHeaders(auth: RouteAuth): string[] {
  const claimTargets = Object.values(auth.jwt?.forwardClaims ?? {});
  return [
    "authorization",
    "x-api-key",
    ...claimTargets.map((name) => name.toLowerCase()),
  ];
}

/**
 * Where JWT verification keys come from: an inline JWKS, or a JWKS URL fetched
 * and cached.
 *
 * The remote cache follows the issuer's `Cache-Control: max-age`, clamped to
 * [60 s, 1 h] so a misconfigured issuer can neither make the gateway fetch on
 * every request nor pin a revoked key for days. A token naming an unknown
 * `kid` (the issuer rotated keys) triggers a refetch, but fetches of any kind
 * start at most once per 30 s, so garbage `kid`s cannot turn the gateway into
 * a flood against the issuer. When a refresh fails, the previous keys stay in
 * use: an issuer outage does not lock every client out.
 */
import type { Clock } from "../resilience/clock.ts";

/** A JWK as published in a JWKS (the DOM type lacks `kid`). */
export type PublishedJwk = JsonWebKey & { kid?: string; use?: string };

/** Supplies the keys that may have signed a token. */
export interface JwksSource {
  /** Keys with this `kid`, or every key when the token names none. */
  keysFor(kid: string | undefined): Promise<PublishedJwk[]>;
}

/** Options for {@linkcode createRemoteJwks}. */
export interface RemoteJwksOptions {
  /** Longest wait for the JWKS response, body included. Default 5000. */
  timeoutMs?: number;
  /** Told about every failed fetch (for logs); the cache carries on. */
  onFetchError?: (error: unknown) => void;
}

const MIN_MAX_AGE_MS = 60_000;
const MAX_MAX_AGE_MS = 3_600_000;
/** Used when the response says nothing about freshness. */
const DEFAULT_MAX_AGE_MS = 300_000;
/** Shortest gap between two fetch attempts. */
const REFETCH_COOLDOWN_MS = 30_000;

/**
 * A fixed key set from config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createStaticJwks } from "./jwks.ts";
 * const key = { kty: "EC", kid: "a" } as JsonWebKey;
 * const source = createStaticJwks({ keys: [key] });
 * assert.equal((await source.keysFor("a")).length, 1);
 * ```
 */
export function createStaticJwks(jwks: { keys: JsonWebKey[] }): JwksSource {
  const keys = publishedKeys(jwks);
  return { keysFor: (kid) => Promise.resolve(withKid(keys, kid)) };
}

/**
 * A key set fetched from `url` with the injected `fetch`, cached as described
 * in this module's introduction. Concurrent lookups share one fetch.
 *
 * @example
 * ```ts ignore
 * import { createRemoteJwks } from "./jwks.ts";
 * import { systemClock } from "../resilience/clock.ts";
 * const source = createRemoteJwks("https://issuer.example/jwks.json", {
 *   fetch,
 *   clock: systemClock,
 * });
 * const keys = await source.keysFor("2024-05");
 * ```
 */
export function createRemoteJwks(
  url: string,
  deps: { fetch: typeof fetch; clock: Clock },
  options: RemoteJwksOptions = {},
): JwksSource {
  const timeoutMs = options.timeoutMs ?? 5000;
  let keys: PublishedJwk[] | null = null;
  let expiresAt = 0;
  let lastAttemptAt = -Infinity;
  let inFlight: Promise<void> | null = null;

  async function fetchKeys(): Promise<void> {
    const controller = new AbortController();
    const cancelTimeout = deps.clock.setTimeout(
      () =>
        controller.abort(
          new Error(`JWKS fetch timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    try {
      const response = await deps.fetch(url, {
        headers: { accept: "application/json" },
        signal: controller.signal,
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`JWKS fetch answered ${response.status}`);
      }
      const body: unknown = await response.json();
      if (!isJwks(body)) throw new Error("JWKS response has no keys array");
      keys = publishedKeys(body);
      expiresAt = deps.clock.now() +
        maxAgeMs(response.headers.get("cache-control"));
    } catch (error) {
      options.onFetchError?.(error);
    } finally {
      cancelTimeout();
    }
  }

  function refresh(): Promise<void> {
    if (inFlight === null) {
      lastAttemptAt = deps.clock.now();
      inFlight = fetchKeys().finally(() => inFlight = null);
    }
    return inFlight;
  }

  return {
    async keysFor(kid) {
      const now = deps.clock.now();
      const stale = keys === null || now >= expiresAt;
      const unknownKid = kid !== undefined && keys !== null &&
        withKid(keys, kid).length === 0;
      const mayFetch = now - lastAttemptAt >= REFETCH_COOLDOWN_MS;
      if (inFlight !== null) await inFlight;
      else if ((stale || unknownKid) && mayFetch) await refresh();
      return keys === null ? [] : withKid(keys, kid);
    },
  };
}

/** The cache lifetime a `Cache-Control` value asks for, clamped. */
function maxAgeMs(cacheControl: string | null): number {
  const match = cacheControl?.match(/(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i);
  if (!match) return DEFAULT_MAX_AGE_MS;
  const requested = Number(match[1]) * 1000;
  return Math.min(MAX_MAX_AGE_MS, Math.max(MIN_MAX_AGE_MS, requested));
}

function isJwks(value: unknown): value is { keys: unknown[] } {
  return typeof value === "object" && value !== null &&
    Array.isArray((value as { keys?: unknown }).keys);
}

/** Keeps the entries that are objects; the verifier judges the rest. */
function publishedKeys(jwks: { keys: unknown[] }): PublishedJwk[] {
  return jwks.keys.filter((key): key is PublishedJwk =>
    typeof key === "object" && key !== null && !Array.isArray(key)
  );
}

function withKid(
  keys: PublishedJwk[],
  kid: string | undefined,
): PublishedJwk[] {
  return kid === undefined ? keys : keys.filter((key) => key.kid === kid);
}

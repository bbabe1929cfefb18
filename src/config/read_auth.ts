import {
  arrayOf,
  checkObject,
  checkSpec,
  isPlainObject,
  join,
  nonEmptyString,
  type Problems,
} from "./checks.ts";
import { JWT_SPEC } from "./policy_spec.ts";
import { readSecret } from "./read_secret.ts";
import type { JwtAlgorithm, JwtAuth, RouteAuth } from "./types.ts";
import type { EnvLookup } from "./validate_config.ts";

/** A route's `auth`: API keys (inline or from an env variable) and/or JWT. */
export function readAuth(
  value: unknown,
  path: string,
  env: EnvLookup,
  problems: Problems,
): RouteAuth | null {
  if (!checkObject(value, path, problems, ["apiKeys", "apiKeysEnv", "jwt"])) {
    return null;
  }
  let apiKeys: string[] = [];
  if ("apiKeys" in value && "apiKeysEnv" in value) {
    problems.add(path, "give either apiKeys or apiKeysEnv, not both");
  } else if ("apiKeys" in value) {
    arrayOf(nonEmptyString, 1)(value.apiKeys, join(path, "apiKeys"), problems);
    if (Array.isArray(value.apiKeys)) {
      apiKeys = value.apiKeys.filter((k): k is string => typeof k === "string");
    }
  } else if ("apiKeysEnv" in value) {
    const name = value.apiKeysEnv;
    const keys = typeof name === "string" ? env(name) : undefined;
    if (typeof name !== "string" || name === "") {
      problems.add(
        join(path, "apiKeysEnv"),
        "must name an environment variable",
      );
    } else if (keys === undefined || keys.trim() === "") {
      problems.add(
        join(path, "apiKeysEnv"),
        `environment variable ${name} is not set`,
      );
    } else {
      apiKeys = keys.split(",").map((k) => k.trim()).filter((k) => k !== "");
    }
  }
  const jwt = "jwt" in value
    ? readJwt(value.jwt, join(path, "jwt"), env, problems)
    : null;
  if (apiKeys.length === 0 && jwt === null && !("apiKeysEnv" in value)) {
    problems.add(path, "needs apiKeys, apiKeysEnv or jwt");
  }
  return { apiKeys, jwt };
}

function readJwt(
  value: unknown,
  path: string,
  env: EnvLookup,
  problems: Problems,
): JwtAuth | null {
  const before = problems.list.length;
  checkSpec(value, path, problems, JWT_SPEC);
  if (!isPlainObject(value)) return null;
  if (!Array.isArray(value.algorithms)) {
    problems.add(join(path, "algorithms"), 'is required (e.g. ["RS256"])');
  }
  const algorithms =
    (Array.isArray(value.algorithms) ? value.algorithms : []) as JwtAlgorithm[];
  const hasSecret = "secret" in value || "secretEnv" in value;
  const secret = hasSecret
    ? readSecret(value, path, "secret", "secretEnv", env, problems)
    : null;
  if (algorithms.includes("HS256") && !hasSecret) {
    problems.add(path, "HS256 needs secret or secretEnv");
  }
  const asymmetric = algorithms.some((a) => a !== "HS256");
  if (asymmetric && !("jwks" in value) && !("jwksUrl" in value)) {
    problems.add(path, "RS256/ES256 need jwks or jwksUrl");
  }
  if (problems.list.length > before) return null;
  return {
    algorithms,
    secret,
    jwks: (value.jwks as JwtAuth["jwks"]) ?? null,
    jwksUrl: (value.jwksUrl as string | undefined) ?? null,
    issuer: (value.issuer as string | undefined) ?? null,
    audience: (value.audience as string | undefined) ?? null,
    leewaySeconds: (value.leewaySeconds as number | undefined) ?? 30,
    forwardClaims: (value.forwardClaims as Record<string, string>) ?? {},
  };
}

import { checkObject, type Problems } from "./checks.ts";
import { readSecret } from "./read_secret.ts";
import type { EnvLookup } from "./validate_config.ts";

/**
 * Reads `metrics`: `{ "token": "…" }`, `{ "tokenEnv": "NAME" }` or
 * `{ "public": true }`. Returns the bearer tokens a scrape may present.
 *
 * The metrics name every upstream, so they are private wherever the operator
 * set an admin token: without a `metrics` section the admin token is asked
 * for, with a metrics token either one is accepted (Prometheus gets the
 * metrics token, people keep the admin one). `public: true` opens them on
 * purpose; with neither an admin nor a metrics token they stay open, as the
 * contract has it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Problems } from "./checks.ts";
 * import { readMetricsTokens } from "./read_metrics.ts";
 * const problems = new Problems();
 * assert.deepEqual(readMetricsTokens(undefined, "admin-token-0123456", () => undefined, problems), ["admin-token-0123456"]);
 * assert.deepEqual(readMetricsTokens({ public: true }, "admin-token-0123456", () => undefined, problems), []);
 * assert.deepEqual(problems.list, []);
 * ```
 */
export function readMetricsTokens(
  value: unknown,
  adminToken: string | null,
  env: EnvLookup,
  problems: Problems,
): string[] {
  const admin = adminToken === null ? [] : [adminToken];
  if (value === undefined) return admin;
  if (
    !checkObject(value, "metrics", problems, ["token", "tokenEnv", "public"])
  ) {
    return admin;
  }
  if ("public" in value) {
    if (value.public !== true) {
      problems.add("metrics.public", "must be true (leave it out to protect)");
    } else if ("token" in value || "tokenEnv" in value) {
      problems.add("metrics", "give a token or public: true, not both");
    }
    return [];
  }
  const token = readSecret(
    value,
    "metrics",
    "token",
    "tokenEnv",
    env,
    problems,
  );
  if (token !== null && token.length < 16) {
    problems.add("metrics.token", "must be at least 16 characters long");
  }
  return token === null ? admin : [token, ...admin];
}

import { isPlainObject, join, type Problems } from "./checks.ts";
import {
  BUILT_IN_POLICY,
  COMPRESSION_DEFAULTS,
  CORS_DEFAULTS,
  HEALTH_CHECK_DEFAULTS,
  RATE_LIMIT_DEFAULTS,
  WEBSOCKET_DEFAULTS,
} from "./defaults.ts";
import type { Policy } from "./types.ts";

/** Upper-cases method names; a non-string (already reported) becomes "". */
export function upper(value: unknown): string {
  return typeof value === "string" ? value.toUpperCase() : "";
}

/** Deep merge of plain objects; arrays and scalars replace; `undefined` keeps. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) {
    return over === undefined ? base : over;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = deepMerge(base[key], value);
  }
  return out;
}

/** Built-in policy, then `defaults`, then the route's `policy`, merged deeply. */
export function mergePolicy(
  defaults: Record<string, unknown>,
  route: Record<string, unknown>,
): Policy {
  const merged = deepMerge(
    deepMerge(BUILT_IN_POLICY, defaults),
    route,
  ) as Policy;
  if (isPlainObject(merged.rateLimit)) {
    // A copy: the merge may have handed back the user's own object.
    merged.rateLimit = { ...RATE_LIMIT_DEFAULTS, ...merged.rateLimit };
  }
  if (isPlainObject(merged.cors)) {
    merged.cors = { ...CORS_DEFAULTS, ...merged.cors };
    if (Array.isArray(merged.cors.methods)) {
      merged.cors.methods = merged.cors.methods.map(upper);
    }
  }
  if (isPlainObject(merged.healthCheck)) {
    merged.healthCheck = { ...HEALTH_CHECK_DEFAULTS, ...merged.healthCheck };
  }
  merged.compression = offOrDefaults(merged.compression, COMPRESSION_DEFAULTS);
  merged.websocket = offOrDefaults(merged.websocket, WEBSOCKET_DEFAULTS);
  return merged;
}

/** `false` turns a section off; an object over `false` turns it back on. */
function offOrDefaults<T extends object>(
  value: unknown,
  defaults: T,
): T | null {
  return value === false ? null : { ...defaults, ...(value as Partial<T>) };
}

/** Rules across fields, checked on the merged policy of a route. */
export function checkMergedPolicy(
  policy: Policy,
  routePath: string,
  problems: Problems,
): void {
  const at = join(routePath, "policy");
  // Sections that failed their own checks may be anything here.
  const section = (value: unknown) =>
    isPlainObject(value) ? value : {} as Record<string, unknown>;
  const retry = section(policy.retry);
  const rateLimit = policy.rateLimit === null
    ? null
    : section(policy.rateLimit);
  const cors = policy.cors === null ? null : section(policy.cors);
  if (
    typeof retry.maxMs === "number" && typeof retry.baseMs === "number" &&
    retry.maxMs < retry.baseMs
  ) {
    problems.add(
      join(at, "retry.maxMs"),
      `must be >= retry.baseMs (${retry.baseMs}), got ${retry.maxMs}`,
    );
  }
  if (rateLimit !== null) {
    for (const key of ["requests", "windowSeconds"] as const) {
      if (rateLimit[key] === undefined) {
        problems.add(join(at, `rateLimit.${key}`), "is required");
      }
    }
  }
  const healthCheck = policy.healthCheck === null
    ? null
    : section(policy.healthCheck);
  if (healthCheck !== null && healthCheck.path === undefined) {
    problems.add(join(at, "healthCheck.path"), "is required");
  }
  if (
    healthCheck !== null && typeof healthCheck.timeoutMs === "number" &&
    typeof healthCheck.intervalMs === "number" &&
    healthCheck.timeoutMs >= healthCheck.intervalMs
  ) {
    problems.add(
      join(at, "healthCheck.timeoutMs"),
      `must be < healthCheck.intervalMs (${healthCheck.intervalMs}), got ${healthCheck.timeoutMs}`,
    );
  }
  if (cors !== null && cors.origins === undefined) {
    problems.add(join(at, "cors.origins"), "is required");
  }
  if (
    cors?.credentials === true && Array.isArray(cors.origins) &&
    cors.origins.includes("*")
  ) {
    problems.add(
      join(at, "cors.origins"),
      'cannot be "*" when credentials is true',
    );
  }
}

/**
 * `timeouts` as written in one policy object (`defaults` or a route's). A
 * `totalMs` shorter than an inherited `headersMs` is fine: the time left of
 * the total bounds every attempt (as Envoy's route timeout bounds
 * `per_try_timeout`). Refused is only a `headersMs` that can never take
 * effect because the `totalMs` written beside it is shorter.
 */
export function checkTimeoutsTogether(
  policy: Record<string, unknown>,
  path: string,
  problems: Problems,
): void {
  const timeouts = policy.timeouts;
  if (!isPlainObject(timeouts)) return;
  const { headersMs, totalMs } = timeouts;
  if (
    typeof totalMs === "number" && typeof headersMs === "number" &&
    totalMs < headersMs
  ) {
    problems.add(
      join(path, "timeouts.totalMs"),
      `must be >= timeouts.headersMs (${headersMs}) set beside it, got ${totalMs}: that headersMs could never take effect`,
    );
  }
}

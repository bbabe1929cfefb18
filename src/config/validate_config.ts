import {
  arrayOf,
  boolean,
  checkObject,
  checkSpec,
  describe,
  isPlainObject,
  join,
  nonEmptyString,
  number,
  oneOf,
  Problems,
  TOKEN,
} from "./checks.ts";
import { BUILT_IN_POLICY, CORS_DEFAULTS } from "./defaults.ts";
import { isProxyEntry } from "../http/client_address.ts";
import { JWT_SPEC, NULLABLE_SECTIONS, POLICY_SPEC } from "./policy_spec.ts";
import type {
  GatewayConfig,
  JwtAlgorithm,
  JwtAuth,
  Policy,
  Route,
  RouteAuth,
  Upstream,
} from "./types.ts";

/** Reads an environment variable; `undefined` when unset. */
export type EnvLookup = (name: string) => string | undefined;

export type ConfigResult =
  | { ok: true; config: GatewayConfig }
  | { ok: false; errors: string[] };

const TOP_LEVEL = [
  "$schema",
  "admin",
  "trustedProxies",
  "log",
  "serverTiming",
  "defaults",
  "routes",
] as const;
const ROUTE_KEYS = [
  "name",
  "path",
  "methods",
  "upstreams",
  "stripPrefix",
  "auth",
  "policy",
] as const;

/**
 * Validates a parsed config and merges policies (built-in → `defaults` →
 * route `policy`). Reports every problem as `path.to.field: what is wrong`.
 *
 * @example
 * ```ts
 * import { validateConfig } from "./validate_config.ts";
 * const result = validateConfig({ routes: [{ name: "a", path: "/a/*", upstreams: ["ftp://x"] }] }, () => undefined);
 * console.assert(!result.ok && result.errors[0].startsWith("routes[0].upstreams[0]:"));
 * ```
 */
export function validateConfig(raw: unknown, env: EnvLookup): ConfigResult {
  const problems = new Problems();
  if (!checkObject(raw, "(root)", problems, TOP_LEVEL)) {
    return { ok: false, errors: problems.list };
  }
  const adminToken = readAdmin(raw.admin, env, problems);
  if ("trustedProxies" in raw) {
    arrayOf((entry, path, pr) => {
      if (typeof entry !== "string" || !isProxyEntry(entry)) {
        pr.add(
          path,
          `must be an IP address or CIDR like "10.0.0.0/8", got ${
            describe(entry)
          }`,
        );
      }
    })(raw.trustedProxies, "trustedProxies", problems);
  }
  if ("log" in raw) {
    checkSpec(raw.log, "log", problems, {
      level: oneOf("debug", "info", "warn", "error"),
      sampleRate: number(0, 1),
    });
  }
  if ("serverTiming" in raw) {
    boolean(raw.serverTiming, "serverTiming", problems);
  }

  let defaults: Record<string, unknown> = {};
  if ("defaults" in raw) {
    checkPolicy(raw.defaults, "defaults", problems);
    if (isPlainObject(raw.defaults)) defaults = raw.defaults;
  }
  const routes = readRoutes(raw.routes, defaults, env, problems);

  if (problems.list.length > 0) return { ok: false, errors: problems.list };
  const log = isPlainObject(raw.log) ? raw.log : {};
  return {
    ok: true,
    config: {
      adminToken,
      trustedProxies: (raw.trustedProxies as string[] | undefined) ?? [],
      log: {
        level: (log.level as GatewayConfig["log"]["level"]) ?? "info",
        sampleRate: (log.sampleRate as number | undefined) ?? 1,
      },
      serverTiming: raw.serverTiming === true,
      routes,
    },
  };
}

function readAdmin(
  value: unknown,
  env: EnvLookup,
  problems: Problems,
): string | null {
  if (value === undefined) return null;
  if (!checkObject(value, "admin", problems, ["token", "tokenEnv"])) {
    return null;
  }
  const token = readSecret(value, "admin", "token", "tokenEnv", env, problems);
  if (token !== null && token.length < 16) {
    problems.add("admin.token", "must be at least 16 characters long");
  }
  return token;
}

/** Reads `field` or the environment variable named by `envField`: exactly one. */
function readSecret(
  value: Record<string, unknown>,
  path: string,
  field: string,
  envField: string,
  env: EnvLookup,
  problems: Problems,
): string | null {
  const hasValue = field in value, hasEnv = envField in value;
  if (hasValue && hasEnv) {
    problems.add(path, `give either ${field} or ${envField}, not both`);
    return null;
  }
  if (hasValue) {
    nonEmptyString(value[field], join(path, field), problems);
    return typeof value[field] === "string" ? value[field] as string : null;
  }
  if (hasEnv) {
    const name = value[envField];
    if (typeof name !== "string" || name === "") {
      problems.add(join(path, envField), "must name an environment variable");
      return null;
    }
    const secret = env(name);
    if (secret === undefined || secret === "") {
      problems.add(
        join(path, envField),
        `environment variable ${name} is not set`,
      );
      return null;
    }
    return secret;
  }
  problems.add(path, `needs ${field} or ${envField}`);
  return null;
}

function checkPolicy(value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.add(path, `must be an object, got ${describe(value)}`);
    return;
  }
  const spec = { ...POLICY_SPEC };
  for (const section of NULLABLE_SECTIONS) {
    // `null` switches an inherited feature off; only objects are checked.
    if (value[section] === null) delete spec[section];
  }
  const present = Object.fromEntries(
    Object.entries(value).filter(([k, v]) =>
      !(NULLABLE_SECTIONS as readonly string[]).includes(k) || v !== null
    ),
  );
  checkSpec(present, path, problems, spec);
}

function readRoutes(
  value: unknown,
  defaults: Record<string, unknown>,
  env: EnvLookup,
  problems: Problems,
): Route[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add("routes", "must be a non-empty array of routes");
    return [];
  }
  const names = new Set<string>();
  const routes: Route[] = [];
  value.forEach((raw, i) => {
    const path = join("routes", i);
    if (!checkObject(raw, path, problems, ROUTE_KEYS)) return;
    if (
      typeof raw.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(raw.name)
    ) {
      problems.add(
        join(path, "name"),
        `must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${
          describe(raw.name)
        }`,
      );
    } else if (names.has(raw.name)) {
      problems.add(join(path, "name"), `duplicate route name "${raw.name}"`);
    } else names.add(raw.name);
    if (
      typeof raw.path !== "string" || !raw.path.startsWith("/") ||
      /\s/.test(raw.path)
    ) {
      problems.add(
        join(path, "path"),
        `must be a path pattern starting with "/", got ${describe(raw.path)}`,
      );
    } else if (raw.path === "/_gateway" || raw.path.startsWith("/_gateway/")) {
      problems.add(
        join(path, "path"),
        "/_gateway/ is reserved for the gateway",
      );
    }
    if ("methods" in raw) {
      arrayOf((m, p, pr) => {
        if (typeof m !== "string" || !TOKEN.test(m)) {
          pr.add(p, `must be an HTTP method, got ${describe(m)}`);
        }
      }, 1)(raw.methods, join(path, "methods"), problems);
    }
    const upstreams = readUpstreams(
      raw.upstreams,
      join(path, "upstreams"),
      problems,
    );
    if (
      "stripPrefix" in raw &&
      (typeof raw.stripPrefix !== "string" || !raw.stripPrefix.startsWith("/"))
    ) {
      problems.add(
        join(path, "stripPrefix"),
        `must be a path starting with "/", got ${describe(raw.stripPrefix)}`,
      );
    }
    const auth = "auth" in raw
      ? readAuth(raw.auth, join(path, "auth"), env, problems)
      : null;
    if ("policy" in raw) {
      checkPolicy(raw.policy, join(path, "policy"), problems);
    }
    const policy = mergePolicy(
      defaults,
      isPlainObject(raw.policy) ? raw.policy : {},
    );
    checkMergedPolicy(policy, path, problems);
    routes.push({
      // Only used when no problem was found; typeof guards keep a hostile
      // value (an object without toString) from throwing meanwhile.
      name: typeof raw.name === "string" ? raw.name : "",
      path: typeof raw.path === "string" ? raw.path : "",
      methods: Array.isArray(raw.methods) ? raw.methods.map(upper) : null,
      upstreams,
      stripPrefix: typeof raw.stripPrefix === "string"
        ? raw.stripPrefix.replace(/\/+$/, "")
        : "",
      auth,
      policy,
    });
  });
  return routes;
}

function readUpstreams(
  value: unknown,
  path: string,
  problems: Problems,
): Upstream[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add(path, "must be a non-empty array of http(s) URLs");
    return [];
  }
  const upstreams: Upstream[] = [];
  value.forEach((raw, i) => {
    const at = join(path, i);
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      problems.add(at, `must be an absolute http(s) URL, got ${describe(raw)}`);
      return;
    }
    if (typeof raw !== "string") {
      problems.add(at, `must be a string URL, got ${describe(raw)}`);
    } else if (url.protocol !== "http:" && url.protocol !== "https:") {
      problems.add(at, `must use http or https, got ${url.protocol}`);
    } else if (url.username || url.password) {
      problems.add(at, "must not carry credentials");
    } else if (
      url.search || url.hash || raw.includes("?") || raw.includes("#")
    ) {
      problems.add(at, "must not carry a query or fragment");
    } else {
      upstreams.push({
        url: raw,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ""),
      });
    }
  });
  return upstreams;
}

function readAuth(
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

function upper(value: unknown): string {
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

function mergePolicy(
  defaults: Record<string, unknown>,
  route: Record<string, unknown>,
): Policy {
  const merged = deepMerge(
    deepMerge(BUILT_IN_POLICY, defaults),
    route,
  ) as Policy;
  if (isPlainObject(merged.cors)) {
    merged.cors = { ...CORS_DEFAULTS, ...merged.cors };
    if (Array.isArray(merged.cors.methods)) {
      merged.cors.methods = merged.cors.methods.map(upper);
    }
  }
  return merged;
}

/** Rules across fields, checked on the merged policy of a route. */
function checkMergedPolicy(
  policy: Policy,
  routePath: string,
  problems: Problems,
): void {
  const at = join(routePath, "policy");
  // Sections that failed their own checks may be anything here.
  const section = (value: unknown) =>
    isPlainObject(value) ? value : {} as Record<string, unknown>;
  const retry = section(policy.retry), timeouts = section(policy.timeouts);
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
  if (
    typeof timeouts.totalMs === "number" &&
    typeof timeouts.headersMs === "number" &&
    timeouts.totalMs < timeouts.headersMs
  ) {
    problems.add(
      join(at, "timeouts.totalMs"),
      `must be >= timeouts.headersMs (${timeouts.headersMs}), got ${timeouts.totalMs}`,
    );
  }
  if (rateLimit !== null) {
    for (const key of ["requests", "windowSeconds"] as const) {
      if (rateLimit[key] === undefined) {
        problems.add(join(at, `rateLimit.${key}`), "is required");
      }
    }
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

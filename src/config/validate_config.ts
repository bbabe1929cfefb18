import {
  arrayOf,
  boolean,
  checkObject,
  checkSpec,
  describe,
  integer,
  isPlainObject,
  join,
  number,
  oneOf,
  Problems,
  type Spec,
  TOKEN,
} from "./checks.ts";
import {
  checkMergedPolicy,
  checkTimeoutsTogether,
  mergePolicy,
  upper,
} from "./merge_policy.ts";
import { readAuth } from "./read_auth.ts";
import { readMetricsTokens } from "./read_metrics.ts";
import { readSecret } from "./read_secret.ts";
import { isProxyEntry } from "../http/client_address.ts";
import { NULLABLE_SECTIONS, POLICY_SPEC } from "./policy_spec.ts";
import type { GatewayConfig, Route, Upstream } from "./types.ts";
import { DEFAULT_VIA_PSEUDONYM, VIA_PSEUDONYM } from "../http/via.ts";

/** Reads an environment variable; `undefined` when unset. */
export type EnvLookup = (name: string) => string | undefined;

/** A validated config, or every problem found, one `path: what` line each. */
export type ConfigResult =
  | { ok: true; config: GatewayConfig }
  | { ok: false; errors: string[] };

/** The top-level keys; each needs its schema in config_schema.ts. */
export const TOP_LEVEL = [
  "$schema",
  "admin",
  "metrics",
  "trustedProxies",
  "log",
  "serverTiming",
  "via",
  "defaults",
  "routes",
] as const;
/** A route's keys; each needs its schema in config_schema.ts. */
export const ROUTE_KEYS = [
  "name",
  "path",
  "methods",
  "upstreams",
  "stripPrefix",
  "auth",
  "policy",
] as const;

/** `log`: which lines are written. */
export const LOG_SPEC: Spec = {
  level: oneOf("debug", "info", "warn", "error"),
  sampleRate: number(0, 1),
};

/** What a route name may be: it labels logs and metrics. */
export const ROUTE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Validates a parsed config and merges policies (built-in → `defaults` →
 * route `policy`). Reports every problem as `path.to.field: what is wrong`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfig } from "./validate_config.ts";
 * const result = validateConfig({ routes: [{ name: "a", path: "/a/*", upstreams: ["ftp://x"] }] }, () => undefined);
 * assert.ok(!result.ok);
 * assert.ok(result.errors[0].startsWith("routes[0].upstreams[0]:"));
 * ```
 */
export function validateConfig(raw: unknown, env: EnvLookup): ConfigResult {
  const problems = new Problems();
  if (!checkObject(raw, "(root)", problems, TOP_LEVEL)) {
    return { ok: false, errors: problems.list };
  }
  const adminToken = readAdmin(raw.admin, env, problems);
  const metricsTokens = readMetricsTokens(
    raw.metrics,
    adminToken,
    env,
    problems,
  );
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
    checkSpec(raw.log, "log", problems, LOG_SPEC);
  }
  if ("serverTiming" in raw) {
    boolean(raw.serverTiming, "serverTiming", problems);
  }
  if (
    "via" in raw &&
    (typeof raw.via !== "string" || !VIA_PSEUDONYM.test(raw.via))
  ) {
    problems.add(
      "via",
      `must be a pseudonym of 1-64 token characters (no spaces or commas), got ${
        describe(raw.via)
      }`,
    );
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
      metricsTokens,
      trustedProxies: (raw.trustedProxies as string[] | undefined) ?? [],
      log: {
        level: (log.level as GatewayConfig["log"]["level"]) ?? "info",
        sampleRate: (log.sampleRate as number | undefined) ?? 1,
      },
      serverTiming: raw.serverTiming === true,
      via: typeof raw.via === "string" ? raw.via : DEFAULT_VIA_PSEUDONYM,
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
  checkTimeoutsTogether(value, path, problems);
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
      typeof raw.name !== "string" || !ROUTE_NAME.test(raw.name)
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
    problems.add(
      path,
      'must be a non-empty array of http(s) URLs or {"url", "weight", "backup"} objects',
    );
    return [];
  }
  const upstreams: Upstream[] = [];
  value.forEach((raw, i) => {
    const at = join(path, i);
    const entry: Record<string, unknown> = isPlainObject(raw)
      ? raw
      : { url: raw };
    if (isPlainObject(raw)) {
      checkObject(raw, at, problems, ["url", "weight", "backup"]);
      if ("weight" in raw) {
        integer(1, 100)(raw.weight, join(at, "weight"), problems);
      }
      if ("backup" in raw) boolean(raw.backup, join(at, "backup"), problems);
    }
    const urlAt = isPlainObject(raw) ? join(at, "url") : at;
    const url = readUpstreamUrl(entry.url, urlAt, problems);
    if (url === null) return;
    if (upstreams.some((upstream) => upstream.url === entry.url)) {
      problems.add(urlAt, "is listed twice");
      return;
    }
    upstreams.push({
      url: entry.url as string,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ""),
      weight: typeof entry.weight === "number" ? entry.weight : 1,
      backup: entry.backup === true,
    });
  });
  if (upstreams.length > 0 && upstreams.every((upstream) => upstream.backup)) {
    problems.add(path, "needs at least one upstream that is not a backup");
  }
  return upstreams;
}

/** An upstream's URL, or `null` after reporting what is wrong with it. */
function readUpstreamUrl(
  raw: unknown,
  at: string,
  problems: Problems,
): URL | null {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    problems.add(at, `must be an absolute http(s) URL, got ${describe(raw)}`);
    return null;
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
    return url;
  }
  return null;
}

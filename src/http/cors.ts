/**
 * CORS at the edge: preflights are answered here and never reach the
 * upstream; actual responses get the allow headers of the route's policy.
 *
 * When a route has a CORS policy the gateway is the only authority: an
 * upstream's own `Access-Control-Allow-*` headers are replaced. With `"*"`
 * in `origins` the answer is the literal `*`, which browsers never combine
 * with credentials, so `credentials: true` is ignored there: reflecting any
 * origin with credentials would let every site act as the user.
 */
import type { CorsPolicy } from "../config/types.ts";

/** Methods a browser sends cross-origin without asking (Fetch standard). */
const SAFELISTED_METHODS = new Set(["GET", "HEAD", "POST"]);
const PREFLIGHT_VARY =
  "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/**
 * Answers a CORS preflight: an `OPTIONS` with `Access-Control-Request-Method`.
 * 204 with the allow headers when the origin, method and headers are all
 * allowed; otherwise a bare 403 (no body: browsers read only the headers).
 * Any other request gets `null`, for the pipeline to carry on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { corsPreflight } from "./cors.ts";
 * const policy = {
 *   origins: ["https://app.example"], methods: ["GET", "PUT"], headers: ["content-type"],
 *   exposeHeaders: [], credentials: false, maxAgeSeconds: 600,
 * };
 * const response = corsPreflight(policy, new Request("http://gw/api", {
 *   method: "OPTIONS",
 *   headers: { origin: "https://app.example", "access-control-request-method": "PUT" },
 * }));
 * assert.equal(response?.status, 204);
 * ```
 */
export function corsPreflight(
  policy: CorsPolicy,
  request: Request,
): Response | null {
  const requestedMethod = request.headers.get("access-control-request-method");
  if (request.method !== "OPTIONS" || requestedMethod === null) return null;
  const allowOrigin = allowedOriginValue(policy, request.headers.get("origin"));
  const requestedHeaders = headerList(
    request.headers.get("access-control-request-headers"),
  );
  if (
    allowOrigin === null || !methodAllowed(policy, requestedMethod) ||
    !requestedHeaders.every((name) => headerAllowed(policy, name))
  ) {
    return new Response(null, {
      status: 403,
      headers: { vary: PREFLIGHT_VARY },
    });
  }
  const headers = new Headers({
    "access-control-allow-origin": allowOrigin,
    "access-control-allow-methods": policy.methods.includes("*")
      ? requestedMethod
      : policy.methods.join(", "),
    "access-control-max-age": String(policy.maxAgeSeconds),
    vary: PREFLIGHT_VARY,
  });
  // Echoing the requested names also works with credentials, where a
  // literal "*" would be read as a header called "*".
  const allowHeaders = policy.headers.includes("*")
    ? requestedHeaders
    : policy.headers;
  if (allowHeaders.length > 0) {
    headers.set("access-control-allow-headers", allowHeaders.join(", "));
  }
  if (allowsCredentials(policy)) {
    headers.set("access-control-allow-credentials", "true");
  }
  return new Response(null, { status: 204, headers });
}

/**
 * Adds the CORS headers for a request from `origin` to a response's headers:
 * `Access-Control-Allow-Origin` (and `-Credentials`, `-Expose-Headers`) when
 * the origin is allowed, and `Vary: Origin` always, so caches keep answers
 * for different origins apart. The upstream's own values are removed first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyCors } from "./cors.ts";
 * const headers = new Headers({ vary: "Accept-Encoding" });
 * applyCors({
 *   origins: ["https://app.example"], methods: ["GET"], headers: [],
 *   exposeHeaders: ["x-request-id"], credentials: true, maxAgeSeconds: 0,
 * }, "https://app.example", headers);
 * assert.equal(headers.get("vary"), "Accept-Encoding, Origin");
 * ```
 */
export function applyCors(
  policy: CorsPolicy,
  origin: string | null,
  headers: Headers,
): void {
  headers.delete("access-control-allow-origin");
  headers.delete("access-control-allow-credentials");
  headers.delete("access-control-expose-headers");
  addVaryOrigin(headers);
  const allowOrigin = allowedOriginValue(policy, origin);
  if (allowOrigin === null) return;
  headers.set("access-control-allow-origin", allowOrigin);
  if (allowsCredentials(policy)) {
    headers.set("access-control-allow-credentials", "true");
  }
  if (policy.exposeHeaders.length > 0) {
    headers.set(
      "access-control-expose-headers",
      policy.exposeHeaders.join(", "),
    );
  }
}

/** The `Access-Control-Allow-Origin` value for `origin`, or `null` if refused. */
function allowedOriginValue(
  policy: CorsPolicy,
  origin: string | null,
): string | null {
  if (origin === null) return null;
  if (policy.origins.includes("*")) return "*";
  const wanted = origin.toLowerCase();
  return policy.origins.some((allowed) => allowed.toLowerCase() === wanted)
    ? origin
    : null;
}

function allowsCredentials(policy: CorsPolicy): boolean {
  return policy.credentials && !policy.origins.includes("*");
}

function methodAllowed(policy: CorsPolicy, method: string): boolean {
  const upper = method.toUpperCase();
  return SAFELISTED_METHODS.has(upper) || policy.methods.includes("*") ||
    policy.methods.some((allowed) => allowed.toUpperCase() === upper);
}

function headerAllowed(policy: CorsPolicy, name: string): boolean {
  return policy.headers.some((allowed) =>
    allowed === "*" || allowed.toLowerCase() === name
  );
}

/** A comma-separated header-name list, lower-cased, empty items dropped. */
function headerList(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((name) => name.trim().toLowerCase()).filter(
    (name) => name !== "",
  );
}

function addVaryOrigin(headers: Headers): void {
  const vary = headers.get("vary");
  if (vary === null) {
    headers.set("vary", "Origin");
    return;
  }
  const names = headerList(vary);
  if (!names.includes("origin") && !names.includes("*")) {
    headers.set("vary", `${vary}, Origin`);
  }
}

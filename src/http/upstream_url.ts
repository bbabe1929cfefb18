import type { UpstreamAddress } from "../config/types.ts";

// A `.` or `..` segment once percent-decoding is done, with `/` or `\` as
// separators and `;` ending a segment (servlet containers drop `;params`):
// what an upstream that decodes before normalising would follow.
const DOT_SEGMENT = /(^|[\/\\])\.\.?([\/\\;]|$)/;
// Control characters decoded from %00-%1f would end up in the upstream request line.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Builds the upstream URL by hand from parts: the configured origin and base
 * path, then the request path after `stripPrefix`, then the query. Returns
 * `null` when the path tries to leave the base path (dot segments, encoded
 * or not, with `/` or `\`) or the result is not under the upstream's origin
 * and base path. Nothing of the request's host or absolute-form target is
 * used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamUrl } from "./upstream_url.ts";
 * const up = { url: "http://10.0.0.5:8080/v1", origin: "http://10.0.0.5:8080", basePath: "/v1" };
 * assert.equal(upstreamUrl(up, "/api/users/7", "?x=1", "/api"), "http://10.0.0.5:8080/v1/users/7?x=1");
 * assert.equal(upstreamUrl(up, "/api/%2e%2e/admin", "", "/api"), null);
 * ```
 */
export function upstreamUrl(
  upstream: UpstreamAddress,
  pathname: string,
  search: string,
  stripPrefix: string,
): string | null {
  let rest = pathname;
  if (
    stripPrefix !== "" &&
    (rest === stripPrefix || rest.startsWith(stripPrefix + "/"))
  ) {
    rest = rest.slice(stripPrefix.length);
  }
  if (!rest.startsWith("/")) rest = rest === "" ? "" : "/" + rest;
  // A request path never holds a raw `?` or `#`; here they would move the
  // boundary of the path the checks below look at.
  if (rest.includes("?") || rest.includes("#")) return null;
  if (rest.includes("%") || rest.includes(".") || rest.includes("\\")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return null;
    }
    if (DOT_SEGMENT.test(decoded) || CONTROL.test(decoded)) return null;
  }
  const path = upstream.basePath + rest;
  let url: URL;
  try {
    // Concatenated, not resolved against the origin: a path like `//evil/x`
    // must stay a path, not become a scheme-relative URL.
    url = new URL(upstream.origin + (path === "" ? "/" : path) + search);
  } catch {
    return null;
  }
  const base = upstream.basePath;
  if (
    url.origin !== upstream.origin ||
    (base !== "" && url.pathname !== base &&
      !url.pathname.startsWith(base + "/"))
  ) {
    return null;
  }
  return url.href;
}

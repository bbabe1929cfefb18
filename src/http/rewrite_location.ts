import type { Upstream } from "../config/types.ts";

/**
 * Rewrites a redirect that points into the upstream (its origin and base
 * path) to the same place as the client sees it — the gateway's origin and
 * the route's `stripPrefix` — like nginx's default `proxy_redirect`: upstream
 * addresses never reach the client, and the redirect stays on the gateway.
 * Other locations (relative ones, other hosts) pass unchanged.
 *
 * @example
 * ```ts
 * import { rewriteLocation } from "./rewrite_location.ts";
 * const up = { url: "http://10.0.0.5:8080/v1", origin: "http://10.0.0.5:8080", basePath: "/v1" };
 * const to = rewriteLocation("http://10.0.0.5:8080/v1/users/8?x=1", up, "https://edge.example", "/api");
 * console.assert(to === "https://edge.example/api/users/8?x=1");
 * ```
 */
export function rewriteLocation(
  location: string,
  upstream: Upstream,
  publicOrigin: string,
  stripPrefix: string,
): string {
  const prefix = upstream.origin + upstream.basePath;
  if (!location.startsWith(prefix)) return location;
  const rest = location.slice(prefix.length);
  if (rest !== "" && !/^[/?#]/.test(rest)) return location; // "/v10" is not under "/v1"
  const path = rest.startsWith("/")
    ? rest
    : (stripPrefix === "" ? "/" : "") + rest;
  return publicOrigin + stripPrefix + path;
}

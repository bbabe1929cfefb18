import type { UpstreamAddress } from "../config/types.ts";

/**
 * Rewrites a redirect that points into the upstream (its origin and base
 * path) to the same place as the client sees it — the gateway's origin and
 * the route's `stripPrefix` — like nginx's default `proxy_redirect`: upstream
 * addresses never reach the client, and the redirect stays on the gateway.
 * Other locations (relative ones, other hosts) pass unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rewriteLocation } from "./rewrite_location.ts";
 * const up = { url: "http://10.0.0.5:8080/v1", origin: "http://10.0.0.5:8080", basePath: "/v1" };
 * const to = rewriteLocation("http://10.0.0.5:8080/v1/users/8?x=1", up, "https://edge.example", "/api");
 * assert.equal(to, "https://edge.example/api/users/8?x=1");
 * ```
 */
export function rewriteLocation(
  location: string,
  upstream: UpstreamAddress,
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

/**
 * A redirect's `Location` as the client should see it: pointing into any
 * upstream of the route (not only the one that answered) becomes the
 * gateway's public address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rewriteRedirect } from "./rewrite_location.ts";
 * const upstreams = [
 *   { url: "http://a:1/v1", origin: "http://a:1", basePath: "/v1" },
 *   { url: "http://b:2/v1", origin: "http://b:2", basePath: "/v1" },
 * ];
 * const request = new Request("http://edge.example/api/x");
 * const to = rewriteRedirect("http://b:2/v1/y", { request, trustedPeer: false, upstreams, stripPrefix: "/api" });
 * assert.equal(to, "http://edge.example/api/y");
 * ```
 */
export function rewriteRedirect(
  location: string,
  options: {
    request: Request;
    trustedPeer: boolean;
    upstreams: readonly UpstreamAddress[];
    stripPrefix: string;
  },
): string {
  const origin = publicOrigin(options.request, options.trustedPeer);
  for (const candidate of options.upstreams) {
    const rewritten = rewriteLocation(
      location,
      candidate,
      origin,
      options.stripPrefix,
    );
    if (rewritten !== location) return rewritten;
  }
  return location;
}

/**
 * `scheme://host[:port]` as the client addressed the gateway: the request's
 * own, or what a trusted proxy in front says it was.
 */
function publicOrigin(request: Request, trustedPeer: boolean): string {
  const url = request.url;
  const schemeEnd = url.indexOf("://");
  const own = url.slice(0, url.indexOf("/", schemeEnd + 3));
  if (!trustedPeer) return own;
  const first = (name: string) =>
    request.headers.get(name)?.split(",")[0].trim() || undefined;
  const proto = first("x-forwarded-proto") ?? url.slice(0, schemeEnd);
  const host = first("x-forwarded-host") ?? own.slice(schemeEnd + 3);
  return `${proto}://${host}`;
}

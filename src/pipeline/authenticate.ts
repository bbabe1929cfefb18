import { GatewayError } from "../errors.ts";
import type { Exchange } from "./exchange.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * Runs the route's authenticator; 401 with `WWW-Authenticate` on failure.
 * Returns the verified-claim headers to send upstream.
 */
export async function authenticate(
  rt: RouteRuntime,
  headers: Headers,
  exchange: Exchange,
): Promise<[string, string][]> {
  if (rt.authenticate === null) return [];
  const result = await rt.authenticate(headers);
  if (result.ok) return result.claimHeaders;
  exchange.flag("UA");
  throw new GatewayError(401, "unauthorized", result.detail, {
    "www-authenticate": result.challenge,
  });
}

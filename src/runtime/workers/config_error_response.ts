import { GatewayError } from "../../errors.ts";
import { problemResponse } from "../../http/problem.ts";
import { requestIdFor } from "../../http/request_id.ts";

/**
 * The answer to every request while the Worker's config is invalid.
 *
 * Workers have no start-up that could stop on a bad config, so each request
 * gets a 500 `invalid_config` problem whose detail lists every error in the
 * `path.to.field: what is wrong` form `parseConfig` reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configErrorResponse } from "./config_error_response.ts";
 * const res = configErrorResponse(new Request("http://x/"), ["routes: is required"]);
 * assert.equal(res.status, 500);
 * assert.match((await res.json()).detail, /routes: is required/);
 * ```
 */
export function configErrorResponse(
  request: Request,
  errors: readonly string[],
): Response {
  const error = new GatewayError(
    500,
    "invalid_config",
    `The gateway configuration is invalid: ${errors.join("; ")}`,
  );
  return problemResponse(
    error,
    requestIdFor(request.headers.get("x-request-id")),
  );
}

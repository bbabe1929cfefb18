import type { GatewayError } from "../errors.ts";

/**
 * Headers on every response the gateway makes itself: the body is ours, so we
 * say what it is and that nothing should sniff, frame or cache it.
 */
export const GATEWAY_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

/**
 * Renders a {@linkcode GatewayError} as RFC 9457 problem details.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GatewayError } from "../errors.ts";
 * import { problemResponse } from "./problem.ts";
 * const res = problemResponse(new GatewayError(404, "no_route", "No route for GET /x"), "abc");
 * assert.equal(res.status, 404);
 * assert.equal(res.headers.get("content-type"), "application/problem+json");
 * ```
 */
export function problemResponse(
  error: GatewayError,
  requestId: string,
): Response {
  const body = JSON.stringify({
    type: `urn:gateway:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
  });
  const headers = new Headers(GATEWAY_RESPONSE_HEADERS);
  headers.set("content-type", "application/problem+json");
  headers.set("x-request-id", requestId);
  for (const [name, value] of Object.entries(error.headers)) {
    headers.set(name, value);
  }
  return new Response(body, { status: error.status, headers });
}

/** A JSON body the gateway makes itself (health, admin), with its headers. */
export function gatewayJson(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...GATEWAY_RESPONSE_HEADERS,
      "content-type": "application/json",
    },
  });
}

/** `Retry-After` in whole seconds, at least 1, for a wait in ms. */
export function retryAfterSeconds(waitMs: number): string {
  return String(Math.max(1, Math.ceil(waitMs / 1000)));
}

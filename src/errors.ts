/**
 * The one error type the gateway answers with. Every stage throws (or
 * returns) a `GatewayError`; `http/problem.ts` turns it into
 * `application/problem+json` in exactly one place.
 */

/** Stable, documented machine codes (the `code` member of a problem). */
export type ErrorCode =
  | "bad_request"
  | "no_route"
  | "method_not_allowed"
  | "unauthorized"
  | "payload_too_large"
  | "rate_limited"
  | "upstream_unavailable"
  | "circuit_open"
  | "overloaded"
  | "draining"
  | "upstream_timeout"
  | "loop_detected"
  | "invalid_config"
  | "internal";

const TITLES: Record<ErrorCode, string> = {
  bad_request: "Bad request",
  no_route: "No route",
  method_not_allowed: "Method not allowed",
  unauthorized: "Unauthorized",
  payload_too_large: "Payload too large",
  rate_limited: "Too many requests",
  upstream_unavailable: "Upstream unavailable",
  circuit_open: "Circuit open",
  overloaded: "Overloaded",
  draining: "Draining",
  upstream_timeout: "Upstream timeout",
  loop_detected: "Loop detected",
  invalid_config: "Invalid configuration",
  internal: "Internal error",
};

export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly title: string;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    /** Human-readable; never upstream addresses or internals. */
    readonly detail: string,
    /** Extra response headers, e.g. `Retry-After`, `Allow`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.title = TITLES[code];
  }
}

/**
 * The 500 for a failure of the gateway's own: it says nothing of what
 * failed (the log line does).
 */
export function internalError(): GatewayError {
  return new GatewayError(
    500,
    "internal",
    "The gateway failed to handle the request.",
  );
}

/** Brand check that also works across module copies. */
export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof Error && value.name === "GatewayError";
}

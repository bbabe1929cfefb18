import { GatewayError } from "../errors.ts";
import { retryAfterSeconds } from "../http/problem.ts";
import { isTimeout } from "./abort_reasons.ts";
import type { Failure } from "./attempt.ts";
import type { Exchange } from "./exchange.ts";

/** 504 or 502 for an exchange whose attempts produced no response. */
export function failureError(
  failure: Failure,
  reason: unknown,
  exchange: Exchange,
): GatewayError {
  if (failure.kind === "timeout") {
    if (isTimeout(reason) && reason.kind === "total") exchange.flag("TT");
    return new GatewayError(
      504,
      "upstream_timeout",
      `The upstream of route "${exchange.route?.route.name}" did not answer in time.`,
    );
  }
  return new GatewayError(
    502,
    "upstream_unavailable",
    `The upstream of route "${exchange.route?.route.name}" could not be reached.`,
  );
}

/** 503 `circuit_open`, with `Retry-After` = time until the soonest half-open. */
export function circuitOpen(
  retryAfterMs: number,
  exchange: Exchange,
): GatewayError {
  exchange.flag("BO");
  return new GatewayError(
    503,
    "circuit_open",
    `Every upstream of route "${exchange.route?.route.name}" is failing; try again later.`,
    { "retry-after": retryAfterSeconds(retryAfterMs) },
  );
}

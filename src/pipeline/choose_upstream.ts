import type { Upstream } from "../config/types.ts";
import type { Admission, BreakerBoard } from "../resilience/breaker_board.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/** An admission with the index of the upstream it admits. */
export type Admitted = Extract<Admission, { allowed: true }> & {
  index: number;
};
export type AdmittedOrRejected = Admitted | {
  allowed: false;
  retryAfterMs: number;
};

/**
 * Asks the breakers, starting at the upstream for this attempt (so each retry
 * moves to the next upstream), skipping open ones; rejected only when every
 * upstream's breaker refuses.
 */
export async function admitNext(
  rt: RouteRuntime,
  board: BreakerBoard,
  attempt: number,
): Promise<AdmittedOrRejected> {
  const upstreams: Upstream[] = rt.route.upstreams;
  let soonest = Infinity;
  for (let k = 0; k < upstreams.length; k++) {
    const index = (attempt + k) % upstreams.length;
    const admission = await board.admit(rt.route.name, upstreams[index].url);
    if (admission.allowed) return { ...admission, index };
    soonest = Math.min(soonest, admission.retryAfterMs);
  }
  return { allowed: false, retryAfterMs: soonest };
}

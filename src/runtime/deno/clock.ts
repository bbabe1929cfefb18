import { type Clock, systemClock } from "../../resilience/clock.ts";
import { sharedDeadlines } from "../../resilience/shared_deadlines.ts";

/**
 * The clock the gateway runs on under Deno: the system clock with deadlines
 * of equal duration sharing one platform timer (see `shared_deadlines.ts`).
 * On Deno a timer may outlive the request that set it, and each `setTimeout`
 * allocates a Node-style `Timeout`; an exchange sets three. Workers keep the
 * plain system clock: there a timer belongs to the request that made it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoClock } from "./clock.ts";
 * const clock = denoClock();
 * const cancel = clock.setTimeout(() => {}, 30_000);
 * assert.equal(typeof clock.now(), "number");
 * cancel();
 * ```
 */
export function denoClock(): Clock {
  return sharedDeadlines(systemClock);
}

/**
 * Under Deno an exchange starts watching for its client leaving after this
 * long (see `ForwardDeps.clientWatchDelayMs`): listening to `request.signal`
 * costs an async op per request, while most exchanges are over sooner.
 * Workers watch at once (their default 0).
 */
export const DENO_CLIENT_WATCH_DELAY_MS = 50;

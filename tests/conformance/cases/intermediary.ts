import assert from "node:assert/strict";
import type { ConformanceTarget } from "../target.ts";
import { assertProblem, echoedHeader, echoOf, send } from "./http.ts";

/**
 * `Via`: the gateway appends its pseudonym upstream, and refuses with 508
 * a request that already carries it (a route leading back into it).
 */
export async function marksViaAndRefusesLoops(
  target: ConformanceTarget,
): Promise<void> {
  const echo = echoOf(
    await send(target, "GET", "/plain/echo", { via: "1.0 corp-proxy" }),
  );
  assert.equal(echoedHeader(echo, "via"), "1.0 corp-proxy, 1.1 edge-gateway");
  const hits = target.origin.requests.length;
  const looped = await send(target, "GET", "/plain/echo", {
    via: "1.1 edge-gateway",
  });
  assertProblem(looped, 508, "loop_detected");
  assert.equal(
    target.origin.requests.length,
    hits,
    "the loop reached the origin",
  );
}

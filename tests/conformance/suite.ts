/**
 * The conformance suite: one black-box suite, parameterised by the gateway's
 * base URL, run against the Deno entry (`deno_test.ts`) and against
 * `wrangler dev` on workerd (`workers_test.ts`). Every case talks HTTP to the
 * gateway and checks what the client and the origin fixture saw; where
 * workerd differs the case says so and skips only that assertion.
 *
 * @module
 */

import {
  abortBeforeHeadersFreesThePermit,
  abortedStreamsFreeTheirPermits,
  stalledClientIsLetGo,
  STREAMED_BODIES,
  type StreamedBody,
  totalDeadlineEndsAStream,
} from "./cases/aborts.ts";
import {
  answersHealthChecks,
  countsRequestsInMetrics,
} from "./cases/endpoints.ts";
import {
  continuesOrStartsATrace,
  dropsHopByHopRequestHeaders,
  dropsHopByHopResponseHeaders,
  generatesARequestId,
  keepsAGoodRequestId,
  passesGzipBytesUnchanged,
} from "./cases/headers.ts";
import { marksViaAndRefusesLoops } from "./cases/intermediary.ts";
import {
  neverRetriesAPost,
  opensTheBreaker,
  retriesAGetOn503,
  timesOutSlowHeaders,
} from "./cases/resilience.ts";
import {
  clientAbortCancelsUpstream,
  flushesTextBeforeTheBodyEnds,
  passesABigBodyWhole,
  streamsChunksAsTheyCome,
} from "./cases/streaming.ts";
import {
  compressesAJsonBody,
  failsOverAStallBeforeTheFirstByte,
  heartbeatsAQuietEventStream,
} from "./cases/stream_delivery.ts";
import type { ConformanceTarget } from "./target.ts";
import {
  echoesMessages,
  passesARefusal,
  passesCloseCodes,
} from "./cases/websocket.ts";

export { conformanceConfig } from "./target.ts";
export type { ConformanceTarget, Runtime } from "./target.ts";

/** One named black-box check. */
export interface ConformanceCase {
  name: string;
  run(target: ConformanceTarget): Promise<void>;
}

const STREAMED_BODY_KINDS = Object.keys(STREAMED_BODIES) as StreamedBody[];

/** Every case, in the order they run (the breaker case last: it opens one). */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  { name: "health endpoints answer", run: answersHealthChecks },
  {
    name: "streams chunks as they come",
    run: (target) => streamsChunksAsTheyCome(target, null),
  },
  {
    name: "streams gzip-compressed chunks as they come to a gzip client",
    run: (target) => streamsChunksAsTheyCome(target, "gzip"),
  },
  {
    name: "streams br-compressed chunks as they come to a gzip, br client",
    run: (target) => streamsChunksAsTheyCome(target, "gzip, br"),
  },
  {
    name:
      "flushes a text/plain chunk before the body ends (gzip-accepting client)",
    run: flushesTextBeforeTheBodyEnds,
  },
  {
    name: "passes a 16 MiB body of known length whole, byte for byte",
    run: passesABigBodyWhole,
  },
  {
    name: "client abort cancels the upstream",
    run: clientAbortCancelsUpstream,
  },
  ...STREAMED_BODY_KINDS.map((kind) => ({
    name:
      `clients leaving mid-stream free their permits and are counted (${kind} body)`,
    run: (target: ConformanceTarget) =>
      abortedStreamsFreeTheirPermits(target, kind),
  })),
  {
    name: "a client leaving before the headers frees its permit",
    run: abortBeforeHeadersFreesThePermit,
  },
  {
    name: "a client that stops reading is let go after clientIdleMs",
    run: stalledClientIsLetGo,
  },
  ...STREAMED_BODY_KINDS.map((kind) => ({
    name:
      `the total deadline cuts a stream and frees its permit (${kind} body)`,
    run: (target: ConformanceTarget) => totalDeadlineEndsAStream(target, kind),
  })),
  {
    name: "drops hop-by-hop request headers",
    run: dropsHopByHopRequestHeaders,
  },
  {
    name: "drops hop-by-hop response headers",
    run: dropsHopByHopResponseHeaders,
  },
  { name: "keeps a well-formed x-request-id", run: keepsAGoodRequestId },
  { name: "continues or starts a W3C trace", run: continuesOrStartsATrace },
  { name: "generates a missing or bad x-request-id", run: generatesARequestId },
  { name: "passes gzip bytes unchanged", run: passesGzipBytesUnchanged },
  {
    name: "appends its Via pseudonym and refuses a loop with 508",
    run: marksViaAndRefusesLoops,
  },
  { name: "compresses a 100 KB JSON body", run: compressesAJsonBody },
  {
    name: "fails over an upstream that stalls before its first byte",
    run: failsOverAStallBeforeTheFirstByte,
  },
  {
    name: "heartbeats a quiet event stream between events",
    run: heartbeatsAQuietEventStream,
  },
  { name: "slow headers time out with 504", run: timesOutSlowHeaders },
  { name: "retries a GET on 503", run: retriesAGetOn503 },
  { name: "never retries a POST", run: neverRetriesAPost },
  { name: "counts requests in metrics", run: countsRequestsInMetrics },
  { name: "WebSocket: echoes text and binary in order", run: echoesMessages },
  { name: "WebSocket: passes close codes and reasons", run: passesCloseCodes },
  { name: "WebSocket: passes a refusal back", run: passesARefusal },
  { name: "breaker opens and spares the origin", run: opensTheBreaker },
];

/**
 * Runs every case as a step of `t` against `target`.
 *
 * @example
 * ```ts ignore
 * Deno.test("conformance on deno", async (t) => {
 *   await runConformanceSuite(t, { runtime: "deno", baseUrl, origin });
 * });
 * ```
 */
export async function runConformanceSuite(
  t: Deno.TestContext,
  target: ConformanceTarget,
): Promise<void> {
  for (const conformanceCase of CONFORMANCE_CASES) {
    await t.step(conformanceCase.name, () => conformanceCase.run(target));
  }
}

/**
 * The floor plus what the contract asks of every proxied request, done with
 * the gateway's own functions, and nothing of its resilience machinery: no
 * routing table, breaker, retry budget, balancer, deadlines, bulkhead,
 * metrics or endable native pipe. Hop-by-hop headers dropped both ways,
 * X-Forwarded-*, `Via`, the request id (kept or made) and the continued
 * trace sent upstream, `Accept-Encoding: identity` (docs/streaming.md), an
 * `AbortSignal` per `fetch` (what cancels it), the request id on the
 * response, and one access line per request written in batches.
 *
 * Between the floor and the gateway in the table, it splits the gateway's
 * cost into what any intermediary meeting the contract pays on Deno and what
 * the gateway's own machinery adds. Forwards to `BENCH_ORIGIN`; prints
 * `{"msg":"listening","port":N}`.
 */
import {
  forwardableResponseHeaders,
  responseHeadersInit,
} from "../../../src/http/hop_by_hop.ts";
import { requestIdFor } from "../../../src/http/request_id.ts";
import { continueTrace } from "../../../src/http/traceparent.ts";
import { upstreamRequestHeaders } from "../../../src/http/upstream_headers.ts";
import { appendVia, DEFAULT_VIA_PSEUDONYM } from "../../../src/http/via.ts";
import { createAccessLog } from "../../../src/observe/access_log.ts";
import { batchedSink } from "../../../src/observe/batched_sink.ts";
import { systemClock } from "../../../src/resilience/clock.ts";
import { announceListening, originFromEnv } from "./announce.ts";

const origin = originFromEnv();
const encoder = new TextEncoder();
const lines = batchedSink(
  (text) => Deno.stdout.writeSync(encoder.encode(text)),
  systemClock,
);
const writeAccessLine = createAccessLog({ sampleRate: 1, sink: lines.sink });
const nothingRemoved = new Set<string>();

Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: announceListening },
  async (request, info) => {
    const startedAt = Date.now();
    const url = new URL(request.url);
    const requestId = requestIdFor(request.headers.get("x-request-id"));
    const trace = continueTrace(request.headers.get("traceparent"));
    const clientAddress = info.remoteAddr.hostname;
    const headers = upstreamRequestHeaders(
      request.headers,
      { address: clientAddress, trusted: false, proto: "http" },
      requestId,
      trace.traceparent,
      nothingRemoved,
    );
    headers["via"] = appendVia(
      request.headers.get("via"),
      DEFAULT_VIA_PSEUDONYM,
    );
    const upstream = await fetch(origin + url.pathname + url.search, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      signal: new AbortController().signal,
    });
    const forwarded = forwardableResponseHeaders(upstream.headers);
    forwarded.fields["x-request-id"] = requestId;
    writeAccessLine({
      requestId,
      route: "bench",
      method: request.method,
      path: url.pathname,
      upstream: origin,
      status: upstream.status,
      attempts: 1,
      durationMs: Date.now() - startedAt,
      ttfbMs: null,
      bytesIn: 0,
      bytesOut: Number.isNaN(forwarded.length) ? 0 : forwarded.length,
      flags: [],
      clientAddress,
      traceId: trace.traceId,
    });
    return new Response(upstream.body, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: responseHeadersInit(forwarded),
    });
  },
);

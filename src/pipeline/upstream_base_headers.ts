import { type HeaderRecord, setHeader } from "../http/header_record.ts";
import { continueTrace } from "../http/traceparent.ts";
import { upstreamRequestHeaders } from "../http/upstream_headers.ts";
import { appendVia } from "../http/via.ts";
import type { Exchange } from "./exchange.ts";
import type { ForwardDeps } from "./forward.ts";
import type { RouteRuntime } from "./route_runtime.ts";

/**
 * The headers every upstream request of an exchange carries, HTTP attempts
 * and WebSocket handshakes alike: the client's minus hop-by-hop and auth
 * headers, forwarding and request-id headers, the continued trace, the
 * route's `extra` headers (auth claims) and this gateway's `Via` entry, so
 * a loop back into the gateway is refused whatever the protocol. Sets the
 * exchange's trace id.
 */
export function upstreamBaseHeaders(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  extra: readonly [string, string][],
  deps: Pick<ForwardDeps, "continueTrace" | "via">,
): HeaderRecord {
  const trace = deps.continueTrace?.(request, rt.route) ??
    continueTrace(request.headers.get("traceparent"));
  exchange.traceId = trace.traceId;
  const headers = upstreamRequestHeaders(
    request.headers,
    exchange.peer,
    exchange.requestId,
    trace.traceparent,
    rt.removedHeaders,
  );
  for (const [name, value] of extra) setHeader(headers, name, value);
  headers["via"] = appendVia(request.headers.get("via"), deps.via);
  return headers;
}

/**
 * The WebSocket leg of a route, run by `app.ts` after route match, method,
 * auth, rate limit and bulkhead admission: breaker admission, the upstream
 * handshake, and only once the upstream accepted, the client's upgrade and
 * the relay. The bulkhead permit is held until the socket closes.
 *
 * @module
 */

import { GatewayError } from "../errors.ts";
import {
  forwardableResponseHeaders,
  responseHeadersInit,
} from "../http/hop_by_hop.ts";
import { splitTarget } from "../http/split_target.ts";
import { upstreamBaseHeaders } from "../pipeline/upstream_base_headers.ts";
import { upstreamUrl } from "../http/upstream_url.ts";
import { ClientGone, UpstreamTimeout } from "../pipeline/abort_reasons.ts";
import { NONE } from "../balance/balancer.ts";
import type { Exchange } from "../pipeline/exchange.ts";
import type { ForwardDeps } from "../pipeline/forward.ts";
import type { RouteRuntime } from "../pipeline/route_runtime.ts";
import { circuitOpen, failureError } from "../pipeline/upstream_errors.ts";
import {
  HANDSHAKE_HEADERS,
  offeredProtocols,
  withoutAccessToken,
} from "./handshake.ts";
import type { OpenSockets } from "./open_sockets.ts";
import { relayWebSocket } from "./relay.ts";
import type { UpstreamHandshake, WebSocketRuntime } from "./socket.ts";

/** What the WebSocket leg needs besides what `forward` needs. */
export interface WebSocketDeps extends ForwardDeps {
  runtime: WebSocketRuntime;
  sockets: OpenSockets;
}

/** Queued bytes allowed per side, in messages of the route's largest size. */
const QUEUED_MESSAGES = 4;
/** How long a close handed on may take to be answered before the socket counts as done. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Opens the upstream socket, then accepts the client's; an upstream that
 * refuses has its answer passed back (its status at least), a timeout is
 * 504 and a connection failure 502. The breaker hears of the handshake only.
 */
export async function proxyWebSocket(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  claimHeaders: [string, string][],
  release: () => void,
  deps: WebSocketDeps,
): Promise<Response> {
  const { clock, metrics } = deps;
  const { route } = rt;
  try {
    const admission = await rt.pool.admit(NONE);
    if (!admission.allowed) throw circuitOpen(admission.retryAfterMs, exchange);
    const upstream = route.upstreams[admission.index];
    const { pathname, search } = splitTarget(request.url);
    const url = upstreamUrl(
      upstream,
      pathname,
      rt.authenticate === null ? search : withoutAccessToken(search),
      route.stripPrefix,
    );
    if (url === null) {
      admission.release();
      throw new GatewayError(
        400,
        "bad_request",
        "The request path is not allowed.",
      );
    }
    exchange.attempts = 1;
    exchange.upstream = upstream.url;
    const handshake = await connectUpstream(
      url,
      request,
      exchange,
      rt,
      claimHeaders,
      deps,
    );
    const durationMs = clock.now() - exchange.startedAt;
    if (handshake.kind === "failed") {
      const timedOut = handshake.reason instanceof UpstreamTimeout;
      if (handshake.reason instanceof ClientGone) {
        // The client left: no verdict on the upstream.
        admission.release();
        exchange.flag("CD");
        throw new ClientGone();
      }
      admission.report({ failure: true, durationMs });
      metrics.attempt(
        route.name,
        upstream.url,
        timedOut ? "timeout" : "network",
      );
      if (timedOut) exchange.headersTimeout();
      else exchange.flag("UF");
      throw failureError(
        { kind: timedOut ? "timeout" : "network" },
        handshake.reason,
        exchange,
      );
    }
    if (handshake.kind === "refused") {
      admission.report({ failure: handshake.status >= 500, durationMs });
      metrics.attempt(
        route.name,
        upstream.url,
        handshake.status >= 500 ? "http_error" : "success",
      );
      release();
      return refusal(handshake);
    }
    admission.report({ failure: false, durationMs });
    metrics.attempt(route.name, upstream.url, "success");
    return acceptClient(
      request,
      exchange,
      rt,
      handshake,
      release,
      deps,
    );
  } catch (error) {
    release();
    throw error;
  }
}

type Connected = Extract<UpstreamHandshake, { kind: "open" | "refused" }>;

/** The handshake toward the upstream, bounded by `timeouts.headersMs`. */
async function connectUpstream(
  url: string,
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  claimHeaders: [string, string][],
  deps: WebSocketDeps,
): Promise<Connected | { kind: "failed"; reason: unknown }> {
  const headers = Object.entries(upstreamBaseHeaders(
    request,
    exchange,
    rt,
    claimHeaders,
    deps,
  )).filter(([name]) =>
    !HANDSHAKE_HEADERS.has(name) && name !== "accept-encoding"
  );
  const controller = new AbortController();
  const onClientGone = () => controller.abort(new ClientGone());
  request.signal.addEventListener("abort", onClientGone, { once: true });
  const cancelTimer = deps.clock.setTimeout(
    () => controller.abort(new UpstreamTimeout("headers")),
    rt.route.policy.timeouts.headersMs,
  );
  try {
    const handshake = await deps.runtime.connect({
      url,
      protocols: offeredProtocols(request.headers),
      headers,
      signal: controller.signal,
    });
    if (handshake.kind === "failed") {
      // A client gone before the listener was added is gone all the same.
      const reason = controller.signal.reason ??
        (request.signal.aborted ? new ClientGone() : undefined);
      return { kind: "failed", reason };
    }
    return handshake;
  } finally {
    cancelTimer();
    request.signal.removeEventListener("abort", onClientGone);
  }
}

/** The upstream's refusal as the client gets it: its status, and its headers and body where known. */
function refusal(
  handshake: Extract<UpstreamHandshake, { kind: "refused" }>,
): Response {
  const upstream = handshake.response;
  if (upstream === null) {
    return new Response(null, { status: handshake.status });
  }
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeadersInit(forwardableResponseHeaders(upstream.headers)),
  });
}

/** Upgrades the client and relays until either side closes. */
function acceptClient(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  handshake: Extract<UpstreamHandshake, { kind: "open" }>,
  release: () => void,
  deps: WebSocketDeps,
): Response {
  const { protocol, socket: upstream } = handshake;
  const policy = rt.route.policy.websocket!;
  if (
    protocol !== "" && !offeredProtocols(request.headers).includes(protocol)
  ) {
    // The client would fail the connection itself; say why instead.
    upstream.close(1002, "subprotocol not offered by the client");
    exchange.flag("UF");
    throw new GatewayError(
      502,
      "upstream_unavailable",
      `The upstream of route "${rt.route.name}" chose a subprotocol the client did not offer.`,
    );
  }
  const accepted = deps.runtime.accept(request, protocol, [
    ["x-request-id", exchange.requestId],
  ]);
  const route = rt.route.name;
  // The 101 is the response's first byte.
  exchange.ttfbMs = deps.clock.now() - exchange.startedAt;
  const counters = deps.metrics.websocketCounters(route);
  deps.metrics.websocketsActive(route, 1);
  exchange.streaming = true;
  const relay = relayWebSocket({
    client: accepted.socket,
    upstream,
    clock: deps.clock,
    maxMessageBytes: policy.maxMessageBytes,
    idleMs: policy.idleMs,
    maxQueuedBytes: QUEUED_MESSAGES * policy.maxMessageBytes,
    closeGraceMs: CLOSE_GRACE_MS,
    onMessage(direction, bytes) {
      if (direction === "in") {
        counters.messagesIn.value++;
        counters.bytesIn.value += bytes;
      } else {
        counters.messagesOut.value++;
        counters.bytesOut.value += bytes;
      }
    },
    onClose(summary) {
      deps.sockets.delete(relay);
      deps.metrics.websocketsActive(route, -1);
      release();
      exchange.websocket = summary;
      exchange.bytesIn = summary.bytesIn;
      exchange.bytesOut = summary.bytesOut;
      if (summary.cause === "idle") exchange.flag("IT");
      exchange.finish(101);
    },
  });
  deps.sockets.add(relay);
  return accepted.response;
}

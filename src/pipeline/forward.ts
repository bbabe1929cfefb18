import { GatewayError, isGatewayError } from "../errors.ts";
import { upstreamRequestHeaders } from "../http/upstream_headers.ts";
import { upstreamUrl } from "../http/upstream_url.ts";
import type { GatewayMetrics } from "../observe/metrics.ts";
import { fullJitterBackoff } from "../resilience/backoff.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";
import type { Clock } from "../resilience/clock.ts";
import { parseRetryAfter } from "../resilience/retry_after.ts";
import { sleep } from "../resilience/sleep.ts";
import { continueTrace } from "../http/traceparent.ts";
import { ClientGone, isTimeout, UpstreamTimeout } from "./abort_reasons.ts";
import type { Exchange } from "./exchange.ts";
import { ExchangeAborter } from "./exchange_aborter.ts";
import { limitBody, tooLarge } from "./limit_body.ts";
import { attemptOnce, type Failure } from "./attempt.ts";
import { admitNext, type Admitted } from "./choose_upstream.ts";
import { circuitOpen, failureError } from "./upstream_errors.ts";
import { splitTarget } from "../http/split_target.ts";
import { rewriteLocation } from "../http/rewrite_location.ts";
import type { RouteRuntime } from "./route_runtime.ts";
import { streamBack } from "./stream_back.ts";

export interface ForwardDeps {
  clock: Clock;
  fetch: typeof fetch;
  board: BreakerBoard;
  metrics: GatewayMetrics;
  random: () => number;
  serverTiming: boolean;
  /**
   * Continues the client's trace; by default `continueTrace` (the gateway
   * sets `traceparent` itself). A tracer such as Deno's OpenTelemetry, which
   * injects its own `traceparent` into `fetch`, returns `traceparent: null`.
   */
  continueTrace?: (
    request: Request,
    route: { name: string; path: string },
  ) => { traceId: string; traceparent: string | null };
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Sends the request upstream under the route's policy: per-attempt headers
 * timeout, total deadline, safe retries (idempotent or `Idempotency-Key`,
 * replayable body, budget, backoff with jitter, `Retry-After`) moving to the
 * next upstream each time, breakers consulted per upstream, then streams the
 * response back. `release` runs once when the exchange is over (body
 * included).
 */
export async function forward(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  extraHeaders: [string, string][],
  release: () => void,
  deps: ForwardDeps,
): Promise<Response> {
  const { clock, board, metrics } = deps;
  const { policy, name: route, upstreams } = rt.route;
  const { retry, timeouts } = policy;
  const deadline = exchange.startedAt + timeouts.totalMs;

  const aborter = new ExchangeAborter();
  const onClientAbort = () => aborter.abort(new ClientGone());
  request.signal.addEventListener("abort", onClientAbort, { once: true });
  const cancelTotal = clock.setTimeout(
    () => aborter.abort(new UpstreamTimeout("total")),
    timeouts.totalMs,
  );
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    cancelTotal();
    request.signal.removeEventListener("abort", onClientAbort);
    release();
  };

  const method = request.method;
  const retryEligible = retry.retries > 0 &&
    (IDEMPOTENT.has(method) || request.headers.has("idempotency-key"));
  rt.budget.recordRequest();
  // The admission in hand; given back unused if the exchange ends before its
  // call reported (a no-op once it did).
  let admission: Admitted | undefined;
  try {
    const body = await limitBody(
      request,
      exchange,
      policy.maxBodyBytes,
      retry.replayBufferBytes,
      retryEligible,
      () => aborter.nextStep().signal,
    );
    const { pathname, search } = splitTarget(request.url);
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
    headers.push(...extraHeaders);

    const first = await admitNext(rt, board, 0);
    if (!first.allowed) throw circuitOpen(first.retryAfterMs, exchange);
    admission = first;
    for (let attempt = 0;; attempt++) {
      const upstream = upstreams[admission.index];
      const url = upstreamUrl(upstream, pathname, search, rt.route.stripPrefix);
      if (url === null) {
        admission.release();
        throw new GatewayError(
          400,
          "bad_request",
          "The request path is not allowed.",
        );
      }
      if (aborter.reason !== undefined) throw aborter.reason;
      exchange.attempts++;
      exchange.upstream = upstream.url;
      const controller = aborter.nextStep();
      const remaining = deadline - clock.now();
      const outcome = await attemptOnce(
        url,
        method,
        [
          ...headers,
          ["x-request-deadline-ms", String(Math.max(0, remaining))],
        ],
        body.take(),
        controller,
        timeouts.headersMs,
        remaining,
        deps,
      );
      const elapsed = outcome.durationMs;
      const failure: Failure | null = "response" in outcome
        ? null
        : outcome.failure;

      if (failure === null) {
        const response = (outcome as { response: Response }).response;
        const status = response.status;
        admission.report({ failure: status >= 500, durationMs: elapsed });
        metrics.attempt(
          route,
          upstream.url,
          status >= 500 ? "http_error" : "success",
        );
        const delay = rt.retryStatuses.has(status)
          ? retryDelay(response, attempt)
          : null;
        const next = delay === null
          ? null
          : await nextAttempt(attempt, delay, body.replayable);
        if (next === null) {
          return streamBack(response, exchange, {
            clock,
            idleMs: timeouts.idleMs,
            abort: (reason) => controller.abort(reason),
            abortReason: () => controller.signal.reason,
            done: finish,
            headers: responseHeaders(exchange, elapsed, deps.serverTiming),
            rewriteLocation: status >= 300 && status < 400
              ? (location) => {
                // Any upstream of the route, not only the one that answered.
                const origin = publicOrigin(request, exchange.peer.trusted);
                for (const candidate of upstreams) {
                  const rewritten = rewriteLocation(
                    location,
                    candidate,
                    origin,
                    rt.route.stripPrefix,
                  );
                  if (rewritten !== location) return rewritten;
                }
                return location;
              }
              : undefined,
          });
        }
        admission = next.admission;
        await response.body?.cancel().catch(() => {});
        await sleep(clock, next.delayMs, aborter.nextStep().signal);
      } else {
        if (body.tooLarge) {
          admission.release();
          throw tooLarge(policy.maxBodyBytes ?? 0);
        }
        // The request signal may report a client that left before the
        // attempt's own controller heard of it.
        const reason = controller.signal.reason ??
          (request.signal.aborted ? new ClientGone() : undefined);
        if (reason instanceof ClientGone) {
          admission.release();
          throw reason;
        }
        if (isTimeout(reason) && reason.kind === "total") {
          // The exchange ran out of time, not the upstream: no verdict.
          admission.release();
          throw failureError(failure, reason, exchange);
        }
        admission.report({ failure: true, durationMs: elapsed });
        metrics.attempt(route, upstream.url, failure.kind);
        if (failure.kind === "network") exchange.flag("UF");
        else {
          exchange.flag("UT");
          metrics.timeout(route, "headers");
        }
        const wanted = failure.kind === "network"
          ? rt.retryOnNetwork
          : rt.retryOnTimeout;
        const next = wanted
          ? await nextAttempt(
            attempt,
            fullJitterBackoff(attempt, retry.baseMs, retry.maxMs, deps.random),
            body.replayable,
          )
          : null;
        if (next === null) throw failureError(failure, reason, exchange);
        admission = next.admission;
        await sleep(clock, next.delayMs, aborter.nextStep().signal);
      }
      metrics.retry(route);
      exchange.flag("RT");
    }
  } catch (thrown) {
    admission?.release();
    finish();
    // A body read that failed because the client left is the client leaving.
    const error = !isGatewayError(thrown) && !isTimeout(thrown) &&
        request.signal.aborted
      ? new ClientGone()
      : thrown;
    if (error instanceof ClientGone) exchange.flag("CD");
    if (isTimeout(error)) {
      // The total deadline ended a backoff wait.
      throw failureError({ kind: "timeout" }, error, exchange);
    }
    throw error;
  }

  /** The backoff (and Retry-After) for a retryable response; `null` when it must go back as is. */
  function retryDelay(response: Response, attempt: number): number | null {
    const retryAfter = parseRetryAfter(response.headers, clock.now());
    if (retryAfter !== undefined && retryAfter > retry.retryAfterCapMs) {
      return null;
    }
    const backoff = fullJitterBackoff(
      attempt,
      retry.baseMs,
      retry.maxMs,
      deps.random,
    );
    return Math.max(backoff, retryAfter ?? 0);
  }

  /**
   * Whether another attempt may go out, and where: the retry limit, the
   * request's idempotency, a replayable body, time left for the wait plus an
   * attempt, an upstream whose breaker admits it, and the retry budget.
   */
  async function nextAttempt(
    attempt: number,
    delayMs: number,
    replayable: boolean,
  ): Promise<{ admission: Admitted; delayMs: number } | null> {
    if (attempt >= retry.retries || !retryEligible || !replayable) return null;
    if (clock.now() + delayMs >= deadline) return null;
    const admission = await admitNext(rt, board, attempt + 1);
    if (!admission.allowed) return null;
    if (!rt.budget.tryAcquireRetry()) {
      admission.release();
      metrics.retryBudgetDenied(route);
      return null;
    }
    return { admission, delayMs };
  }
}

function responseHeaders(
  exchange: Exchange,
  upstreamMs: number,
  serverTiming: boolean,
): [string, string][] {
  const headers: [string, string][] = [
    ["x-gateway-attempts", String(exchange.attempts)],
  ];
  if (serverTiming) {
    headers.push(["server-timing", `upstream;dur=${upstreamMs}`]);
  }
  return headers;
}

/**
 * `scheme://host[:port]` as the client addressed the gateway: the request's
 * own, or what a trusted proxy in front says it was.
 */
function publicOrigin(request: Request, trustedPeer: boolean): string {
  const url = request.url;
  const schemeEnd = url.indexOf("://");
  const own = url.slice(0, url.indexOf("/", schemeEnd + 3));
  if (!trustedPeer) return own;
  const first = (name: string) =>
    request.headers.get(name)?.split(",")[0].trim() || undefined;
  const proto = first("x-forwarded-proto") ?? url.slice(0, schemeEnd);
  const host = first("x-forwarded-host") ?? own.slice(schemeEnd + 3);
  return `${proto}://${host}`;
}

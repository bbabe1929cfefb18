import { GatewayError, isGatewayError } from "../errors.ts";
import { rewriteRedirect } from "../http/rewrite_location.ts";
import { splitTarget } from "../http/split_target.ts";
import type { TraceContinuer } from "../http/traceparent.ts";
import type { HeaderRecord } from "../http/header_record.ts";
import { upstreamBaseHeaders } from "./upstream_base_headers.ts";
import { upstreamUrl } from "../http/upstream_url.ts";
import type { GatewayMetrics } from "../observe/metrics.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";
import type { Clock } from "../resilience/clock.ts";
import { sleep } from "../resilience/sleep.ts";
import {
  CLIENT_CLOSED_REQUEST,
  ClientGone,
  isTimeout,
} from "./abort_reasons.ts";
import { attemptOnce, type AttemptOutcome, type Failure } from "./attempt.ts";
import type { Admitted } from "../balance/upstream_pool.ts";
import { NONE } from "../balance/balancer.ts";
import type { Exchange } from "./exchange.ts";
import { armExchange, type ExchangeAborter } from "./exchange_aborter.ts";
import { maxForwardsUpstream } from "./hop_limits.ts";
import { limitBody, NO_BODY, tooLarge } from "./limit_body.ts";
import { isRetryEligible, type RetryPlan, RetryState } from "./retry_state.ts";
import type { RouteRuntime } from "./route_runtime.ts";
import type { NativePipe } from "./native_pipe.ts";
import { streamBack, type StreamBackOptions } from "./stream_back.ts";
import { circuitOpen, failureError } from "./upstream_errors.ts";

export interface ForwardDeps {
  clock: Clock;
  fetch: typeof fetch;
  board: BreakerBoard;
  metrics: GatewayMetrics;
  random: () => number;
  serverTiming: boolean;
  /** This gateway's pseudonym, appended to `Via` upstream. */
  via: string;
  /**
   * How long after its start an exchange begins to watch for the client
   * leaving (see `armExchange`); 0 at once. A runtime choice: Deno pays an
   * async op per watched request.
   */
  clientWatchDelayMs?: number;
  /**
   * The runtime's own body pipe (Deno), which bodies of known length take
   * when their route has a `minBytesPerSecond`; none: every body is relayed
   * in JavaScript.
   */
  nativePipe?: NativePipe;
  /**
   * Continues the client's trace; by default `continueTrace` (the gateway
   * sets `traceparent` itself). A tracer such as Deno's OpenTelemetry, which
   * injects its own `traceparent` into `fetch`, returns `traceparent: null`.
   */
  continueTrace?: TraceContinuer;
}

/**
 * Sends the request upstream under the route's policy: per-attempt headers
 * timeout, total deadline, safe retries (see `RetryState`) moving to another
 * upstream each time, breakers consulted per upstream, then streams the
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
  const { clock, metrics } = deps;
  const { policy, name: route } = rt.route;
  // The admission in hand; given back unused if the exchange ends before its
  // call reported (a no-op once it did).
  let admission: Admitted | undefined;
  const { aborter, finish } = armExchange({
    request,
    clock,
    totalMs: policy.timeouts.totalMs,
    clientWatchDelayMs: deps.clientWatchDelayMs ?? 0,
    release,
    // Under workerd nothing may run after the client's abort event (see
    // stream_back.ts): an exchange without a body yet ends in it; a streamed
    // body ends on its own abort signal.
    onClientGone() {
      if (exchange.streaming) return;
      admission?.release();
      finish();
      exchange.flag("CD");
      exchange.finish(CLIENT_CLOSED_REQUEST);
    },
  });
  const retries = new RetryState(rt.retryRules, {
    eligible: isRetryEligible(request, policy.retry.retries),
    deadline: exchange.startedAt + policy.timeouts.totalMs,
  });
  rt.budget.recordRequest();
  try {
    // No await for a bodiless request: one microtask less.
    const body = request.body === null ? NO_BODY : await limitBody(
      request,
      exchange,
      policy.maxBodyBytes,
      policy.retry.replayBufferBytes,
      retries.eligible,
      () => aborter.nextStep().signal,
    );
    const ctx: AttemptContext = {
      exchange,
      rt,
      deps,
      aborter,
      target: upstreamTarget(request, exchange, rt, extraHeaders, deps),
    };
    const admitting = rt.pool.admit(NONE);
    // No await when the breaker answered from local state.
    const first = admitting instanceof Promise ? await admitting : admitting;
    if (!first.allowed) throw circuitOpen(first.retryAfterMs, exchange);
    admission = first;
    for (;;) {
      const upstream = rt.route.upstreams[admission.index];
      const { outcome, controller } = await sendAttempt(
        ctx,
        admission.index,
        body.take(),
      );
      let plan: RetryPlan<Admitted> | null;
      if ("response" in outcome) {
        const { response, durationMs } = outcome;
        const failed = response.status >= 500;
        admission.report({ failure: failed, durationMs });
        metrics.attempt(route, upstream.url, failed ? "http_error" : "success");
        const planning = retries.shouldRetryHeaders(
          response,
          body.replayable,
          admission,
        );
        plan = planning === null ? null : await planning;
        if (plan === null) {
          const options = streamOptions(ctx, outcome, controller, finish);
          return streamBack(response, exchange, options);
        }
        await response.body?.cancel().catch(() => {});
      } else {
        const { failure, durationMs } = outcome;
        if (body.tooLarge) throw tooLarge(policy.maxBodyBytes ?? 0);
        const reason = upstreamFailureReason(ctx, controller, failure);
        admission.report({ failure: true, durationMs });
        metrics.attempt(route, upstream.url, failure.kind);
        if (failure.kind === "network") exchange.flag("UF");
        else if (isTimeout(reason) && reason.kind === "first_byte") {
          exchange.firstByteTimeout();
        } else exchange.headersTimeout();
        plan = await retries.shouldRetryReset(
          failure,
          body.replayable,
          admission,
        );
        if (plan === null) throw failureError(failure, reason, exchange);
      }
      admission = plan.admission;
      await sleep(clock, plan.delayMs, aborter.nextStep().signal);
      metrics.retry(route);
      exchange.flag("RT");
    }
  } catch (thrown) {
    admission?.release();
    finish();
    throw exchangeError(thrown, request, exchange);
  }
}

/** What every attempt of an exchange sends, whichever upstream it goes to. */
interface UpstreamTarget {
  method: string;
  pathname: string;
  search: string;
  /** One record for every attempt; `x-request-deadline-ms` is set afresh for each. */
  headers: HeaderRecord;
}

function upstreamTarget(
  request: Request,
  exchange: Exchange,
  rt: RouteRuntime,
  extraHeaders: [string, string][],
  deps: ForwardDeps,
): UpstreamTarget {
  const { pathname, search } = splitTarget(request.url);
  const headers = upstreamBaseHeaders(
    request,
    exchange,
    rt,
    extraHeaders,
    deps,
  );
  const maxForwards = maxForwardsUpstream(request);
  if (maxForwards !== null) headers["max-forwards"] = maxForwards;
  return { method: request.method, pathname, search, headers };
}

/** What the attempts of one exchange share. */
interface AttemptContext {
  exchange: Exchange;
  rt: RouteRuntime;
  deps: ForwardDeps;
  aborter: ExchangeAborter;
  target: UpstreamTarget;
}

/** Sends one attempt to upstream `index`, with the time left of the exchange as its deadline. */
async function sendAttempt(
  ctx: AttemptContext,
  index: number,
  body: BodyInit | null,
): Promise<{ outcome: AttemptOutcome; controller: AbortController }> {
  const { exchange, rt, deps, aborter, target } = ctx;
  const upstream = rt.route.upstreams[index];
  const url = upstreamUrl(
    upstream,
    target.pathname,
    target.search,
    rt.route.stripPrefix,
  );
  if (url === null) {
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
  const { timeouts } = rt.route.policy;
  const remainingMs = exchange.startedAt + timeouts.totalMs - deps.clock.now();
  rt.pool.started(index);
  // fetch copies the headers when called: one record serves every attempt.
  target.headers["x-request-deadline-ms"] = String(Math.max(0, remainingMs));
  const outcome = await attemptOnce({
    url,
    method: target.method,
    headers: target.headers,
    body,
    controller,
    headersMs: timeouts.headersMs,
    remainingMs,
    firstByteMs: timeouts.firstByteMs,
    clock: deps.clock,
    fetch: deps.fetch,
  });
  rt.pool.balancer.finished(
    index,
    outcome.durationMs,
    "failure" in outcome || outcome.response.status >= 500,
  );
  return { outcome, controller };
}

/** How the response of the attempt that answered streams back to the client. */
function streamOptions(
  ctx: AttemptContext,
  answered: { response: Response; durationMs: number },
  controller: AbortController,
  done: () => void,
): StreamBackOptions {
  const { exchange, rt, deps } = ctx;
  const { status } = answered.response;
  return {
    clock: deps.clock,
    idleMs: rt.route.policy.timeouts.idleMs,
    clientIdleMs: rt.route.policy.timeouts.clientIdleMs,
    compression: rt.route.policy.compression,
    heartbeatMs: rt.route.policy.sse.heartbeatMs,
    minBytesPerSecond: rt.route.policy.timeouts.minBytesPerSecond,
    nativePipe: deps.nativePipe,
    abort: (reason) => controller.abort(reason),
    signal: controller.signal,
    done,
    headers: responseHeaders(exchange, answered.durationMs, deps.serverTiming),
    rewriteLocation: status >= 300 && status < 400
      ? (location) =>
        rewriteRedirect(location, {
          request: exchange.request,
          trustedPeer: exchange.peer.trusted,
          upstreams: rt.route.upstreams,
          stripPrefix: rt.route.stripPrefix,
        })
      : undefined,
  };
}

/**
 * Why an attempt got no response; throws when it is not the upstream's
 * fault (the client left, or the exchange's total deadline ended it).
 */
function upstreamFailureReason(
  { exchange }: AttemptContext,
  controller: AbortController,
  failure: Failure,
): unknown {
  const { request } = exchange;
  // The request signal may report a client that left before the attempt's
  // own controller heard of it.
  const reason = controller.signal.reason ??
    (request.signal.aborted ? new ClientGone() : undefined);
  if (reason instanceof ClientGone) throw reason;
  if (isTimeout(reason) && reason.kind === "total") {
    // The exchange ran out of time, not the upstream: no verdict.
    throw failureError(failure, reason, exchange);
  }
  return reason;
}

/** What ended the exchange, as `app.ts` turns it into a response. */
function exchangeError(
  thrown: unknown,
  request: Request,
  exchange: Exchange,
): unknown {
  // A body read that failed because the client left is the client leaving.
  const error = !isGatewayError(thrown) && !isTimeout(thrown) &&
      request.signal.aborted
    ? new ClientGone()
    : thrown;
  if (error instanceof ClientGone) exchange.flag("CD");
  // The total deadline ended a backoff wait.
  if (isTimeout(error)) {
    return failureError({ kind: "timeout" }, error, exchange);
  }
  return error;
}

function responseHeaders(
  exchange: Exchange,
  upstreamMs: number,
  serverTiming: boolean,
): HeaderRecord {
  const headers: HeaderRecord = {
    "x-gateway-attempts": String(exchange.attempts),
  };
  if (serverTiming) headers["server-timing"] = `upstream;dur=${upstreamMs}`;
  return headers;
}

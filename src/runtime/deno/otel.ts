/**
 * Tracing under Deno's built-in OpenTelemetry (`OTEL_DENO=true`, no flag
 * needed in Deno 2.9). Deno then makes a server span for every `Deno.serve`
 * request (joining the client's `traceparent`) and a client span for every
 * `fetch`, and its `fetch` adds its own `traceparent` to the request. If the
 * gateway also sets one, the upstream receives both values joined by a comma
 * (`<gateway's>, <Deno's>`): the first names a span no exporter reports, and
 * a comma-joined `traceparent` is not a valid one.
 *
 * So under OTel the gateway sends no `traceparent` of its own (Deno's names
 * the exported client span as parent) and takes the trace id for its access
 * log from Deno's active server span, read through `@opentelemetry/api`
 * (which Deno's OTel registers itself with). `tracestate` still passes on:
 * Deno adds none.
 *
 * @module
 */

import { isSpanContextValid, trace } from "@opentelemetry/api";
import { continueTrace } from "../../http/traceparent.ts";

/** The trace a request is part of, as the gateway logs and forwards it. */
export interface OtelTraceContext {
  /** The W3C trace id of Deno's server span. */
  traceId: string;
  /** Deno's server span for this request. */
  spanId: string;
  /** Always `null`: Deno's `fetch` sends the `traceparent` upstream. */
  traceparent: null;
}

/** What the span naming needs of a route. */
export interface TracedRoute {
  /** The route's configured name (attribute `gateway.route`). */
  name: string;
  /** The route's path pattern (attribute `http.route`, and the span name). */
  path: string;
}

/** Continues the trace of one request; see {@linkcode otelTraceContinuer}. */
export type OtelContinueTrace = (
  request: Request,
  route: TracedRoute,
) => OtelTraceContext;

/**
 * Returns how to continue a request's trace when Deno's OpenTelemetry is on
 * (`OTEL_DENO=true`), else `undefined` (the gateway then propagates
 * `traceparent` itself, as without OTel).
 *
 * Called inside a `Deno.serve` handler, the returned function reads Deno's
 * server span, names it `<METHOD> <route path>` with `http.route` and
 * `gateway.route` set, and returns its ids with `traceparent: null`. Outside
 * any span (a handler not run by `Deno.serve`) the trace id comes from the
 * request's own `traceparent` or is new; the `traceparent` stays `null`
 * because Deno's `fetch` sends one either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { otelTraceContinuer } from "./otel.ts";
 * const continueTrace = otelTraceContinuer((name) =>
 *   name === "OTEL_DENO" ? "true" : undefined
 * );
 * const request = new Request("http://gateway.test/api/a", {
 *   headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
 * });
 * const context = continueTrace!(request, { name: "api", path: "/api/*" });
 * assert.equal(context.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.equal(context.traceparent, null);
 * assert.equal(otelTraceContinuer(() => undefined), undefined);
 * ```
 */
export function otelTraceContinuer(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): OtelContinueTrace | undefined {
  // Deno accepts only "true" and "false" here (anything else: a warning, off).
  if (env("OTEL_DENO") !== "true") return undefined;
  return function continueOtelTrace(request, route) {
    const span = trace.getActiveSpan();
    const ids = span?.spanContext();
    if (span === undefined || ids === undefined || !isSpanContextValid(ids)) {
      const own = continueTrace(request.headers.get("traceparent"));
      return { traceId: own.traceId, spanId: own.spanId, traceparent: null };
    }
    if (span.isRecording()) {
      span.updateName(`${request.method} ${route.path}`);
      span.setAttribute("http.route", route.path);
      span.setAttribute("gateway.route", route.name);
    }
    return { traceId: ids.traceId, spanId: ids.spanId, traceparent: null };
  };
}

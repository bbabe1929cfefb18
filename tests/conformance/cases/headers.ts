import assert from "node:assert/strict";
import { header } from "../../_fixtures/raw_client.ts";
import { HOP_BY_HOP_HEADERS } from "../../_fixtures/origin.ts";
import type { ConformanceTarget } from "../target.ts";
import { assertProblem, echoedHeader, echoOf, send } from "./http.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Hop-by-hop request headers stop at the gateway; end-to-end ones pass.
 *
 * workerd removes `Connection`, `Keep-Alive` and `TE` before the Worker runs,
 * so a header the client named in `Connection` (`x-named-hop`) cannot be
 * recognised there and reaches the upstream: that one assertion is skipped
 * on workerd (documented in the README).
 */
export async function dropsHopByHopRequestHeaders(
  target: ConformanceTarget,
): Promise<void> {
  const echo = echoOf(
    await send(target, "GET", "/plain/echo", {
      connection: "close, x-named-hop",
      "x-named-hop": "1",
      "keep-alive": "timeout=5",
      "proxy-connection": "keep-alive",
      te: "trailers",
      trailer: "x-trailing",
      "proxy-authorization": "Basic dXNlcjpwYXNz",
      "x-end-to-end": "kept",
      // A valid name that assigning into a plain object would swallow where
      // `Object.prototype.__proto__` exists (workerd; Deno deletes it).
      ["__proto__"]: "kept too",
    }),
  );
  assert.equal(echoedHeader(echo, "x-end-to-end"), "kept");
  assert.equal(echoedHeader(echo, "__proto__"), "kept too");
  for (
    const name of [
      "keep-alive",
      "proxy-connection",
      "te",
      "trailer",
      "proxy-authorization",
    ]
  ) {
    assert.equal(
      echoedHeader(echo, name),
      undefined,
      `${name} reached upstream`,
    );
  }
  assert.notEqual(echoedHeader(echo, "connection"), "close, x-named-hop");
  if (target.runtime !== "workerd") {
    assert.equal(echoedHeader(echo, "x-named-hop"), undefined);
  }
}

/** Hop-by-hop response headers stop at the gateway; end-to-end ones pass. */
export async function dropsHopByHopResponseHeaders(
  target: ConformanceTarget,
): Promise<void> {
  const res = await send(target, "GET", "/plain/hop");
  assert.equal(res.status, 200);
  assert.equal(header(res, "x-end-to-end"), "kept");
  for (const name of Object.keys(HOP_BY_HOP_HEADERS)) {
    if (name === "connection") continue; // the server's own framing (below)
    assert.equal(header(res, name), undefined, `${name} reached the client`);
  }
  // The gateway's own server may say `close`/`keep-alive`, never the upstream's.
  assert.notEqual(header(res, "connection"), HOP_BY_HOP_HEADERS.connection);
}

/** A well-formed client `x-request-id` is kept, upstream and back. */
export async function keepsAGoodRequestId(
  target: ConformanceTarget,
): Promise<void> {
  const id = `conf-${crypto.randomUUID()}:1.2_3`;
  const res = await send(target, "GET", "/plain/echo", { "x-request-id": id });
  assert.equal(header(res, "x-request-id"), id);
  assert.equal(echoedHeader(echoOf(res), "x-request-id"), id);
}

/** A malformed or missing `x-request-id` is replaced by a generated one. */
export async function generatesARequestId(
  target: ConformanceTarget,
): Promise<void> {
  for (const sent of ["bad id with spaces", undefined]) {
    const res = await send(
      target,
      "GET",
      "/plain/echo",
      sent === undefined ? {} : { "x-request-id": sent },
    );
    const id = header(res, "x-request-id");
    assert.ok(id !== undefined && REQUEST_ID.test(id), `generated id ${id}`);
    assert.notEqual(id, sent);
    assert.equal(echoedHeader(echoOf(res), "x-request-id"), id);
  }
  // Errors the gateway makes itself carry the id too.
  const res = await send(target, "GET", "/no-such-route", {
    "x-request-id": "conf-404",
  });
  assertProblem(res, 404, "no_route");
  assert.equal(header(res, "x-request-id"), "conf-404");
}

const STARTED_TRACE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/**
 * W3C trace context: a client's trace is continued (its id and flags kept,
 * the gateway's own span as the parent), and a request without one starts a
 * fresh, well-formed trace of its own.
 */
export async function continuesOrStartsATrace(
  target: ConformanceTarget,
): Promise<void> {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const continued = echoedHeader(
    echoOf(
      await send(target, "GET", "/plain/echo", {
        traceparent: `00-${traceId}-00f067aa0ba902b7-00`,
      }),
    ),
    "traceparent",
  );
  assert.match(continued ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  assert.ok(!continued!.includes("00f067aa0ba902b7"), continued);
  const started = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const sent = echoedHeader(
      echoOf(await send(target, "GET", "/plain/echo")),
      "traceparent",
    );
    const match = STARTED_TRACE.exec(sent ?? "");
    assert.ok(match, `started trace ${sent}`);
    started.add(match[1]);
  }
  assert.equal(started.size, 3, "each request starts its own trace");
}

/**
 * An upstream's gzip body reaches a gzip-accepting client byte for byte,
 * with headers that describe those bytes.
 */
export async function passesGzipBytesUnchanged(
  target: ConformanceTarget,
): Promise<void> {
  const res = await send(target, "GET", "/plain/gzip", {
    "accept-encoding": "gzip",
  });
  assert.equal(res.status, 200);
  assert.ok(res.complete);
  assert.equal(header(res, "content-encoding"), "gzip");
  assert.deepEqual(res.body, target.origin.gzipBytes);
  const length = header(res, "content-length");
  if (length !== undefined) assert.equal(Number(length), res.body.length);
}

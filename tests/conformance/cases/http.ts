import {
  header,
  rawRequest,
  type RawResponse,
} from "../../_fixtures/raw_client.ts";
import { type ConformanceTarget, portOf } from "../target.ts";
import assert from "node:assert/strict";

/**
 * Sends `method path` over a fresh raw connection with `headers` (plus
 * `Host` and `Connection: close` unless given) and reads the whole response.
 *
 * @example
 * ```ts ignore
 * const res = await send(target, "GET", "/plain/echo", { "x-a": "1" });
 * ```
 */
export function send(
  target: Pick<ConformanceTarget, "baseUrl">,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): Promise<RawResponse> {
  return rawRequest(
    portOf(target),
    requestText(target, method, path, headers, body),
  );
}

/** The bytes of an HTTP/1.1 request, as {@linkcode send} writes them. */
export function requestText(
  target: Pick<ConformanceTarget, "baseUrl">,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): string {
  const all: Record<string, string> = {
    host: `127.0.0.1:${portOf(target)}`,
    connection: "close",
    ...headers,
  };
  if (body !== "") {
    all["content-length"] = String(new TextEncoder().encode(body).length);
  }
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n${body}`;
}

/** The response body as UTF-8 text. */
export function textOf(res: RawResponse): string {
  return new TextDecoder().decode(res.body);
}

/** What a gateway problem response must look like (RFC 9457 + our members). */
export function assertProblem(
  res: RawResponse,
  status: number,
  code: string,
): Record<string, unknown> {
  assert.equal(res.status, status, `status; body: ${textOf(res)}`);
  assert.equal(header(res, "content-type"), "application/problem+json");
  const problem = JSON.parse(textOf(res));
  assert.equal(problem.status, status);
  assert.equal(problem.code, code);
  assert.equal(typeof problem.title, "string");
  assert.equal(typeof problem.detail, "string");
  assert.equal(problem.requestId, header(res, "x-request-id"));
  return problem;
}

/** The origin's `/echo` answer: what the upstream request looked like. */
export interface EchoAnswer {
  method: string;
  path: string;
  search: string;
  headers: [string, string][];
  bodyBytes: number;
  body: string;
}

/** Parses an `/echo` response, asserting it is one. */
export function echoOf(res: RawResponse): EchoAnswer {
  assert.equal(res.status, 200, `echo status; body: ${textOf(res)}`);
  return JSON.parse(textOf(res));
}

/** The echoed upstream request header of that name, or undefined. */
export function echoedHeader(
  echo: EchoAnswer,
  name: string,
): string | undefined {
  return echo.headers.find(([key]) => key === name.toLowerCase())?.[1];
}

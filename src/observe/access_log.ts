import { consoleSink, type LogSink } from "./log_line.ts";

/**
 * Envoy-style response flags: why an exchange went the way it did.
 *
 * `UT` upstream headers timeout · `IT` idle timeout · `TT` total timeout ·
 * `RT` retried · `BH` bulkhead overflow · `BO` breaker open ·
 * `CD` client disconnect · `UF` upstream connection failure ·
 * `UR` upstream reset / short body after headers · `RL` rate limited ·
 * `NR` no route · `UA` unauthorized · `DR` draining.
 */
export type ResponseFlag =
  | "UT"
  | "IT"
  | "TT"
  | "RT"
  | "BH"
  | "BO"
  | "CD"
  | "UF"
  | "UR"
  | "RL"
  | "NR"
  | "UA"
  | "DR";

/** What the pipeline knows about one finished exchange. */
export interface AccessLogEntry {
  /** The `x-request-id` sent upstream and to the client. */
  requestId: string;
  /** Route name; `null` when none matched. */
  route: string | null;
  /** The request method. */
  method: string;
  /** The request path, without the query. */
  path: string;
  /** The upstream of the last attempt, as configured; `null` when none was tried. */
  upstream: string | null;
  /** The status the client got. */
  status: number;
  /** Upstream attempts made. */
  attempts: number;
  /** From the request to the end of the response body. */
  durationMs: number;
  /** Time to the first response byte sent to the client; `null` when none was. */
  ttfbMs: number | null;
  /** Request body bytes read from the client. */
  bytesIn: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
  /** Envoy-style response flags (`UT`, `RT`, `BO`, ...). */
  flags: ResponseFlag[];
  /** The client address as resolved through `trustedProxies`. */
  clientAddress: string | null;
  /** The W3C trace id, when there is one. */
  traceId: string | null;
  /**
   * For a proxied WebSocket (status 101, logged at close): messages each
   * way, the close code, who closed and, when the gateway did, why.
   */
  websocket?: {
    messagesIn: number;
    messagesOut: number;
    closeCode: number;
    closedBy: "client" | "upstream" | "gateway";
    cause: string | null;
  };
}

/** Options for {@linkcode createAccessLog}. */
export interface AccessLogOptions {
  /** Share of ordinary lines written, 0..1. Errors and flagged lines are always written. */
  sampleRate: number;
  /** Where lines go; default `console.log`. */
  sink?: LogSink;
  /** Uniform in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Milliseconds since the epoch for the `time` field; default `Date.now`. */
  now?: () => number;
}

/**
 * Creates the access-log writer: one JSON line per exchange,
 * `{"time","level":"info","msg":"access", ...entry, "flags": "UT,RT" | "-"}`.
 *
 * Sampling only thins out the uninteresting: a line with status ≥ 500,
 * any flag, or a WebSocket's closing line is always written, whatever
 * `sampleRate` says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAccessLog } from "./access_log.ts";
 * const lines: string[] = [];
 * const writeAccess = createAccessLog({ sampleRate: 0, sink: (l) => lines.push(l) });
 * writeAccess({
 *   requestId: "r1", route: "users", method: "GET", path: "/api/users/1",
 *   upstream: "http://10.0.0.5:8080/v1", status: 504, attempts: 3, durationMs: 30012,
 *   ttfbMs: null, bytesIn: 0, bytesOut: 180, flags: ["UT", "RT"],
 *   clientAddress: "203.0.113.7", traceId: null,
 * });
 * // Written although sampleRate is 0: a 504 with flags is always logged.
 * assert.equal(lines.length, 1);
 * assert.equal(JSON.parse(lines[0]).flags, "UT,RT");
 * ```
 */
export function createAccessLog(
  options: AccessLogOptions,
): (entry: AccessLogEntry) => void {
  const { sampleRate } = options;
  if (!(sampleRate >= 0 && sampleRate <= 1)) {
    throw new RangeError(
      `Cannot create access log as sampleRate must be between 0 and 1: current value is ${sampleRate}`,
    );
  }
  const sink = options.sink ?? consoleSink;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  // Lines of one millisecond share their timestamp text.
  let stampedMs = NaN;
  let stamp = "";

  return function writeAccessLine(entry) {
    const kept = entry.status >= 500 || entry.flags.length > 0 ||
      entry.websocket !== undefined ||
      sampleRate === 1 ||
      random() < sampleRate;
    if (!kept) return;
    const ms = now();
    if (ms !== stampedMs) {
      stampedMs = ms;
      stamp = new Date(ms).toISOString();
    }
    sink(accessLine(stamp, entry));
  };
}

/**
 * The line, written field by field: spreading the entry into a new object
 * for `JSON.stringify` cost several times more per request in the running
 * gateway (a fresh 17-field object per line) than in isolation.
 */
function accessLine(stamp: string, entry: AccessLogEntry): string {
  const flags = entry.flags.length === 0 ? "-" : entry.flags.join(",");
  const websocket = entry.websocket === undefined
    ? ""
    : `,"websocket":${JSON.stringify(entry.websocket)}`;
  return `{"time":"${stamp}","level":"info","msg":"access"` +
    `,"requestId":${text(entry.requestId)}` +
    `,"route":${text(entry.route)}` +
    `,"method":${text(entry.method)}` +
    `,"path":${text(entry.path)}` +
    `,"upstream":${text(entry.upstream)}` +
    `,"status":${num(entry.status)}` +
    `,"attempts":${num(entry.attempts)}` +
    `,"durationMs":${num(entry.durationMs)}` +
    `,"ttfbMs":${num(entry.ttfbMs)}` +
    `,"bytesIn":${num(entry.bytesIn)}` +
    `,"bytesOut":${num(entry.bytesOut)}` +
    `,"flags":"${flags}"` +
    `,"clientAddress":${text(entry.clientAddress)}` +
    `,"traceId":${text(entry.traceId)}${websocket}}`;
}

/** A number field as JSON: `null` for what JSON cannot hold (as `JSON.stringify`). */
function num(value: number | null): string | number {
  return value !== null && Number.isFinite(value) ? value : "null";
}

/** What `JSON.stringify` would escape in a string: quotes, backslashes, controls, lone surrogates. */
// deno-lint-ignore no-control-regex -- the control characters are what it looks for
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string field as JSON (quoted and escaped), or `null`. */
function text(value: string | null): string {
  if (value === null) return "null";
  // Ids, methods, routes and paths rarely need escaping, and the test is
  // cheaper than the serializer.
  return ESCAPED.test(value) ? JSON.stringify(value) : `"${value}"`;
}

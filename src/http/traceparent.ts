/**
 * W3C Trace Context: the gateway is a participant in the trace. It keeps the
 * client's trace id (or starts a trace) and sends upstream its own span id
 * as the new parent.
 */
const TRACEPARENT =
  /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

export interface TraceContext {
  traceId: string;
  /** The gateway's span id, sent upstream as parent-id. */
  spanId: string;
  /** The value to send upstream. */
  traceparent: string;
}

/**
 * Continues the client's trace for one request on `route`: the trace id the
 * access log records and the `traceparent` to send upstream (`null` when a
 * tracer such as Deno's OpenTelemetry sends its own).
 */
export type TraceContinuer = (
  request: Request,
  route: { name: string; path: string },
) => { traceId: string; traceparent: string | null };

/**
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { continueTrace } from "./traceparent.ts";
 * const t = continueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * assert.equal(t.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.ok(t.traceparent.endsWith("-01"));
 * assert.ok(!t.traceparent.includes("00f067aa0ba902b7"));
 * ```
 */
export function continueTrace(incoming: string | null): TraceContext {
  const spanId = randomHex(8);
  const match = incoming === null ? null : TRACEPARENT.exec(incoming.trim());
  if (
    match !== null && match[1] !== "ff" && match[2] !== ZERO_TRACE &&
    match[3] !== ZERO_SPAN && (match[1] !== "00" || match[5] === undefined)
  ) {
    return {
      traceId: match[2],
      spanId,
      traceparent: `00-${match[2]}-${spanId}-${match[4]}`,
    };
  }
  const traceId = randomHex(16);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");

// Random hex drawn in bulk: one getRandomValues call and one decode serve
// many requests, and an id is a slice of that text (no string built per
// byte, which allocated more than the rest of the trace context).
const randomBytes = new Uint8Array(4096);
const hexCodes = new Uint8Array(randomBytes.length * 2);
const ascii = new TextDecoder();
let hexPool = "";
let hexOffset = 0;

function randomHex(bytes: number): string {
  const chars = bytes * 2;
  if (hexOffset + chars > hexPool.length) {
    crypto.getRandomValues(randomBytes);
    for (let i = 0; i < randomBytes.length; i++) {
      hexCodes[2 * i] = HEX_DIGITS[randomBytes[i] >> 4];
      hexCodes[2 * i + 1] = HEX_DIGITS[randomBytes[i] & 15];
    }
    hexPool = ascii.decode(hexCodes);
    hexOffset = 0;
  }
  const out = hexPool.slice(hexOffset, hexOffset + chars);
  hexOffset += chars;
  return out;
}

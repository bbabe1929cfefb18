/**
 * Close codes on their way from one side of a relayed WebSocket to the other
 * (RFC 6455 §7.4). Some codes only describe what a runtime saw and must never
 * be sent in a close frame: 1005 (no code received), 1006 (closed without a
 * close frame; Deno's client reports that as code 0), 1015 (TLS failure).
 */

/** Sent for a close that had no code (1005). */
const NORMAL_CLOSURE = 1000;
/** Sent when the gateway stops a socket it is shutting down, or one that went idle. */
export const GOING_AWAY = 1001;
/** Sent when the other side could not keep up (the relay's queue bound). */
export const POLICY_VIOLATION = 1008;
/** Sent for a message over `maxMessageBytes`. */
export const MESSAGE_TOO_BIG = 1009;
/** Sent when the other side vanished without a close frame. */
export const INTERNAL_ERROR = 1011;

/**
 * The code to send on, given the close one side reported: the code itself
 * when it may go on the wire; 1000 for "no code"; 1011 for an abnormal end
 * (a dropped connection, a TLS failure, or a code no endpoint may send).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wireCloseCode } from "./close_codes.ts";
 * assert.equal(wireCloseCode(4000, true), 4000);
 * assert.equal(wireCloseCode(1005, true), 1000);
 * assert.equal(wireCloseCode(1006, false), 1011);
 * assert.equal(wireCloseCode(0, false), 1011);
 * ```
 */
export function wireCloseCode(code: number, wasClean: boolean): number {
  if (code === 1005 && wasClean) return NORMAL_CLOSURE;
  return isSendableCloseCode(code) ? code : INTERNAL_ERROR;
}

/**
 * Whether an endpoint may put `code` in a close frame: 1000–1003, 1007–1014,
 * or 3000–4999 (registered and private codes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSendableCloseCode } from "./close_codes.ts";
 * assert.equal(isSendableCloseCode(1001), true);
 * assert.equal(isSendableCloseCode(1006), false);
 * ```
 */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

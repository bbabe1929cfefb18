const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request id for an exchange: the client's `x-request-id` when it is a
 * safe token (it ends up in logs and upstream headers), else a new UUID.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestIdFor } from "./request_id.ts";
 * assert.equal(requestIdFor("abc-123"), "abc-123");
 * assert.notEqual(requestIdFor("bad id\n"), "bad id\n");
 * ```
 */
export function requestIdFor(clientValue: string | null): string {
  if (clientValue !== null && ACCEPTABLE_ID.test(clientValue)) {
    return clientValue;
  }
  return crypto.randomUUID();
}

import type { TimeoutKind } from "../observe/metrics.ts";

/**
 * Why an upstream exchange was aborted. Used as `AbortSignal` reasons, so a
 * rejected `fetch` or body read says which deadline (or the client) ended it.
 */
export class UpstreamTimeout extends Error {
  override readonly name = "UpstreamTimeout";
  constructor(readonly kind: TimeoutKind) {
    super(`upstream ${kind} timeout`);
  }
}

/** The client went away; the upstream request is cancelled with this. */
export class ClientGone extends Error {
  override readonly name: string = "ClientGone";
  constructor(message = "client disconnected") {
    super(message);
  }
}

/**
 * The client took nothing for `clientIdleMs` while a chunk waited: taken as
 * gone (flag `CD`), but it may still be connected, so its response must end
 * abnormally rather than look complete.
 */
export class ClientStalled extends ClientGone {
  override readonly name = "ClientStalled";
  constructor() {
    super("client took nothing for clientIdleMs");
  }
}

/** The upstream's body failed after its headers went on (a reset, a short body). */
export class UpstreamBroke extends Error {
  override readonly name = "UpstreamBroke";
  constructor(cause: unknown) {
    super("upstream body failed", { cause });
  }
}

/**
 * Whether a response body was ended on purpose, for a reason its access line
 * already gives (flags `IT`, `TT`, `CD`, `UR`): a runtime that reports the
 * stream's error has nothing to add.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientGone, isDeliberateEnd } from "./abort_reasons.ts";
 * assert.equal(isDeliberateEnd(new ClientGone()), true);
 * assert.equal(isDeliberateEnd(new TypeError("a bug")), false);
 * ```
 */
export function isDeliberateEnd(error: unknown): boolean {
  return error instanceof UpstreamTimeout || error instanceof ClientGone ||
    error instanceof UpstreamBroke;
}

export function isTimeout(value: unknown): value is UpstreamTimeout {
  return value instanceof UpstreamTimeout;
}

/** The status logged for a client that left before its response (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

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
  override readonly name = "ClientGone";
  constructor() {
    super("client disconnected");
  }
}

export function isTimeout(value: unknown): value is UpstreamTimeout {
  return value instanceof UpstreamTimeout;
}

/** The status logged for a client that left before its response (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

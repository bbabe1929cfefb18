import type { ResponseFlag } from "../observe/access_log.ts";
import type { Peer } from "../http/upstream_headers.ts";
import type { RouteRuntime } from "./route_runtime.ts";
import type { RelaySummary } from "../websocket/relay.ts";

/**
 * Everything the gateway learns about one request while it handles it; the
 * access log line and the request metrics are written from it exactly once,
 * when the response body has ended (or at once for bodiless responses).
 * Passed to Hono as the `env` of the request.
 */
export class Exchange {
  route: RouteRuntime | null = null;
  /** The upstream of the latest attempt, as configured. */
  upstream: string | null = null;
  attempts = 0;
  /** Attempts that got no response headers within `headersMs`. */
  headersTimeouts = 0;
  /** Attempts whose body sent no first byte within `firstByteMs`. */
  firstByteTimeouts = 0;
  readonly flags: ResponseFlag[] = [];
  /** ms from start to the first response body byte, `null` until one. */
  ttfbMs: number | null = null;
  bytesIn = 0;
  bytesOut = 0;
  traceId: string | null = null;
  /** Set once the response body is handed over to be streamed; finish() then waits for its end. */
  streaming = false;
  /**
   * Settles when the runtime is done with the response (Deno:
   * `info.completed`); lets bodies of known length go out through the
   * runtime's native pipe.
   */
  completed: Promise<unknown> | undefined = undefined;
  /** The client's `Accept-Encoding` when the runtime rewrote the header (see `ClientContext`). */
  clientAcceptEncoding: string | undefined = undefined;
  /** Set when a proxied WebSocket closed; the exchange then finishes with 101. */
  websocket: RelaySummary | null = null;
  /** Called once the exchange has ended (see `ClientContext.waitUntil`). */
  onEnded: (() => void) | undefined = undefined;
  private finished = false;

  /** What the client accepts as `Content-Encoding` (its header, unless the runtime knows better). */
  acceptEncoding(): string | null {
    return this.clientAcceptEncoding ??
      this.request.headers.get("accept-encoding");
  }

  constructor(
    readonly request: Request,
    readonly requestId: string,
    readonly peer: Peer,
    /** Client address after trusted-proxy resolution, for logs and rate limits. */
    readonly clientAddress: string | undefined,
    readonly startedAt: number,
    private readonly onFinish: (exchange: Exchange, status: number) => void,
  ) {}

  flag(flag: ResponseFlag): void {
    if (!this.flags.includes(flag)) this.flags.push(flag);
  }

  /** An attempt timed out waiting for headers (counted in metrics at finish). */
  headersTimeout(): void {
    this.headersTimeouts++;
    this.flag("UT");
  }

  /** An attempt's body sent nothing within `firstByteMs` (counted at finish). */
  firstByteTimeout(): void {
    this.firstByteTimeouts++;
    this.flag("UT");
  }

  /** Writes the log line and metrics; later calls do nothing. */
  finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnded?.();
    this.onFinish(this, status);
  }
}

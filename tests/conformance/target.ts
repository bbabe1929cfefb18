import type { Origin } from "../_fixtures/origin.ts";
import type { RawOrigin } from "../_fixtures/raw_origin.ts";
import type { WsOrigin } from "../_fixtures/ws_origin.ts";

/** Which runtime serves the gateway under test. */
export type Runtime = "deno" | "workerd";

/** What the conformance cases need to know about the gateway under test. */
export interface ConformanceTarget {
  runtime: Runtime;
  /** `http://127.0.0.1:<port>` of the gateway. */
  baseUrl: string;
  /** The origin every route of {@linkcode conformanceConfig} points at. */
  origin: Origin;
  /**
   * The first upstream of route `firstbyte`: sends headers, then stalls
   * (`headersThenStall()` in raw_origin.ts).
   */
  stalled: RawOrigin;
  /** The WebSocket origin of route `ws` (the WebSocket cases need it). */
  wsOrigin?: WsOrigin;
}

/** `maxMessageBytes` of route `ws`. */
export const WS_MAX_MESSAGE_BYTES = 4096;

/** The admin token {@linkcode conformanceConfig} sets. */
export const ADMIN_TOKEN = "conformance-admin-token";

/**
 * The gateway config both runtimes are started with: one route per concern,
 * each stripping its own prefix so `/<route>/stream` reaches the origin's
 * `/stream`. With `stalledUrl`, route `firstbyte` tries it first, then the origin.
 *
 * @example
 * ```ts ignore
 * const text = JSON.stringify(conformanceConfig(origin.url, stalled.url));
 * ```
 */
export function conformanceConfig(
  originUrl: string,
  stalledUrl?: string,
  /** Adds route `ws` toward this WebSocket origin. */
  wsOriginUrl?: string,
): Record<string, unknown> {
  const route = (
    name: string,
    policy: Record<string, unknown>,
    upstreams = [originUrl],
  ) => ({
    name,
    path: `/${name}/*`,
    upstreams,
    stripPrefix: `/${name}`,
    policy,
  });
  // Routes whose clients leave mid-stream let a silent client go after 2 s:
  // workerd sometimes never reports a departed client (see
  // stream_back.ts), and then `clientIdleMs` is what ends the exchange.
  const clientsLeave = { clientIdleMs: 2000 };
  return {
    admin: { token: ADMIN_TOKEN },
    routes: [
      route("plain", { retry: { retries: 0 }, timeouts: clientsLeave }),
      route("timeout", {
        timeouts: { headersMs: 300 },
        retry: { retries: 0 },
      }),
      route("bulkhead", {
        timeouts: clientsLeave,
        retry: { retries: 0 },
        bulkhead: { maxConcurrent: 2 },
      }),
      route("deadline", {
        timeouts: { headersMs: 500, totalMs: 600 },
        retry: { retries: 0 },
        bulkhead: { maxConcurrent: 1 },
      }),
      route("retry", { retry: { retries: 1, baseMs: 10, maxMs: 20 } }),
      ...(stalledUrl === undefined ? [] : [
        route("firstbyte", {
          timeouts: { firstByteMs: 300 },
          retry: { retries: 1, baseMs: 1, maxMs: 2 },
          balance: "failover",
        }, [stalledUrl, originUrl]),
      ]),
      ...(wsOriginUrl === undefined ? [] : [
        route("ws", {
          websocket: { maxMessageBytes: WS_MAX_MESSAGE_BYTES },
        }, [wsOriginUrl]),
      ]),
      route("sse", { retry: { retries: 0 }, sse: { heartbeatMs: 100 } }),
      route("breaker", {
        retry: { retries: 0 },
        breaker: { size: 4, minCalls: 4, failureRate: 0.5, openMs: 60_000 },
      }),
    ],
  };
}

/** The port part of a target's base URL, for the raw socket client. */
export function portOf(target: Pick<ConformanceTarget, "baseUrl">): number {
  return Number(new URL(target.baseUrl).port);
}

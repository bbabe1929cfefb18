/**
 * Request metrics in Workers Analytics Engine (binding `GATEWAY_ANALYTICS`).
 *
 * On Workers the Prometheus registry lives in one isolate and dies with it,
 * so `/_gateway/metrics` only describes the isolate that answered. Analytics
 * Engine keeps one data point per exchange from every isolate and location
 * and answers SQL over them: the home for dashboards and alerts there.
 */

import type { AccessLogEntry } from "../../observe/access_log.ts";

/**
 * The part of an Analytics Engine dataset binding the writer uses (declared
 * here so the gateway needs no Cloudflare type package).
 */
export interface AnalyticsEngineDataset {
  /** Writes one data point (never throws on Workers; the writer guards anyway). */
  writeDataPoint(
    point: { blobs?: string[]; doubles?: number[]; indexes?: string[] },
  ): void;
}

/** The index (and `blob1`) of an exchange no route matched. */
const NO_ROUTE = "(none)";

/**
 * Creates the per-exchange writer for `GatewayOptions.onExchange`: one data
 * point per finished exchange, in this schema:
 *
 * | column    | value                                              |
 * | --------- | -------------------------------------------------- |
 * | `index1`  | route name, `(none)` when no route matched         |
 * | `blob1`   | route name, `(none)` when no route matched         |
 * | `blob2`   | method                                             |
 * | `blob3`   | status class: `2xx`, `4xx`, `5xx`, …               |
 * | `blob4`   | upstream of the last attempt, `""` when none       |
 * | `blob5`   | response flags joined by `,` (`UT,RT`), `""` none  |
 * | `double1` | status                                             |
 * | `double2` | duration in ms                                     |
 * | `double3` | time to first byte in ms, `-1` when none was sent  |
 * | `double4` | attempts                                           |
 * | `double5` | request body bytes                                 |
 * | `double6` | response body bytes                                |
 *
 * Analytics Engine samples under load: each row carries `_sample_interval`
 * (how many exchanges it stands for), so count with `SUM(_sample_interval)`
 * and weight quantiles by it. Requests per second and p99 latency by route
 * over the last five minutes, through the SQL API
 * (`POST /client/v4/accounts/<account_id>/analytics_engine/sql`):
 *
 * ```sql
 * SELECT
 *   index1 AS route,
 *   SUM(_sample_interval) / 300 AS requests_per_second,
 *   quantileExactWeighted(0.99)(double2, _sample_interval) AS p99_ms,
 *   SUM(IF(blob3 = '5xx', _sample_interval, 0)) / 300 AS errors_per_second
 * FROM edge_gateway
 * WHERE timestamp > NOW() - INTERVAL '5' MINUTE
 * GROUP BY route
 * ORDER BY requests_per_second DESC
 * ```
 *
 * The writer never throws: `writeDataPoint` is fire-and-forget, and a failed
 * write (a binding gone bad, a value over a limit) loses that point, never
 * the exchange.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyticsWriter } from "./analytics_engine.ts";
 * const points: unknown[] = [];
 * const onExchange = analyticsWriter({ writeDataPoint: (p) => points.push(p) });
 * onExchange({
 *   requestId: "r1", route: "users", method: "GET", path: "/api/users/1",
 *   upstream: "http://10.0.0.5:8080/v1", status: 504, attempts: 3, durationMs: 30012,
 *   ttfbMs: null, bytesIn: 0, bytesOut: 180, flags: ["UT", "RT"],
 *   clientAddress: null, traceId: null,
 * });
 * assert.deepEqual(points[0], {
 *   indexes: ["users"],
 *   blobs: ["users", "GET", "5xx", "http://10.0.0.5:8080/v1", "UT,RT"],
 *   doubles: [504, 30012, -1, 3, 0, 180],
 * });
 * ```
 */
export function analyticsWriter(
  dataset: AnalyticsEngineDataset,
): (entry: AccessLogEntry) => void {
  return (entry) => {
    const route = entry.route ?? NO_ROUTE;
    try {
      dataset.writeDataPoint({
        indexes: [route],
        blobs: [
          route,
          entry.method,
          `${Math.floor(entry.status / 100)}xx`,
          entry.upstream ?? "",
          entry.flags.join(","),
        ],
        doubles: [
          entry.status,
          entry.durationMs,
          entry.ttfbMs ?? -1,
          entry.attempts,
          entry.bytesIn,
          entry.bytesOut,
        ],
      });
    } catch {
      // Metrics are best effort: a lost point must not fail the exchange.
    }
  };
}

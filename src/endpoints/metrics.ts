import { constantTimeEqual } from "../auth/constant_time.ts";
import { GatewayError } from "../errors.ts";
import type { GatewayMetrics, UpstreamSample } from "../observe/metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../observe/prometheus_text.ts";
import type { BreakerBoard } from "../resilience/breaker_board.ts";

export interface MetricsEndpointDeps {
  /** Bearer tokens accepted; empty: public (see `config/read_metrics.ts`). */
  tokens: readonly string[];
  metrics: GatewayMetrics;
  board: BreakerBoard;
  /** Every route's upstream pool state (requests, health). */
  upstreams(): Iterable<UpstreamSample>;
}

/**
 * `GET /_gateway/metrics`: the Prometheus text, behind
 * `Authorization: Bearer <token>` when tokens are configured (Prometheus:
 * `authorization: { credentials_file: … }` in the scrape config).
 */
export function metricsEndpoint(
  deps: MetricsEndpointDeps,
): (request: Request) => Promise<Response> {
  const { tokens, metrics, board } = deps;
  return async (request) => {
    if (tokens.length > 0 && !(await presentsToken(request, tokens))) {
      throw new GatewayError(
        401,
        "unauthorized",
        "The metrics need the metrics (or admin) bearer token.",
        { "www-authenticate": 'Bearer realm="gateway-metrics"' },
      );
    }
    return new Response(metrics.render(board.views(), deps.upstreams()), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  };
}

async function presentsToken(
  request: Request,
  tokens: readonly string[],
): Promise<boolean> {
  const bearer = /^Bearer +(\S+)$/i.exec(
    request.headers.get("authorization") ?? "",
  );
  if (bearer === null) return false;
  // Every token is compared, so the time says nothing about which matched.
  const matches = await Promise.all(
    tokens.map((token) => constantTimeEqual(bearer[1], token)),
  );
  return matches.includes(true);
}

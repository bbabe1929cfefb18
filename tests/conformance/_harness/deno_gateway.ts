import type { ServerProcess } from "../../_fixtures/child_process.ts";
import {
  runGatewayProcessToExit,
  startGatewayProcess,
} from "../../_fixtures/gateway_process.ts";

/**
 * Starts `deploy/deno/main.ts` on 127.0.0.1 and a free port with `config`
 * (JSON text) and a temp Deno KV file; see `startGatewayProcess`.
 *
 * @example
 * ```ts ignore
 * const gateway = await startDenoGateway(JSON.stringify(config));
 * try { await fetch(`${gateway.baseUrl}/_gateway/health/live`); }
 * finally { await gateway.stop(); }
 * ```
 */
export function startDenoGateway(config: string): Promise<ServerProcess> {
  return startGatewayProcess({ config });
}

/**
 * Runs the Deno gateway with `config` and waits for it to exit on its own
 * (an invalid config must stop start-up); returns the status and output.
 */
export function runDenoGatewayToExit(
  config: string,
  timeoutMs?: number,
): Promise<{ status: Deno.CommandStatus; output: string }> {
  return runGatewayProcessToExit({ config }, timeoutMs);
}

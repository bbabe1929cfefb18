/** The proxies the bench compares, and how to start each on its pinned core. */
import { entryExists, GATEWAY_ENTRY, startGateway } from "./gateway.ts";
import { startNginx } from "./nginx.ts";
import {
  type ManagedProcess,
  type ProcessGroup,
  readListeningPort,
} from "./processes.ts";

/** Every proxy the bench knows, in table order; the floor comes first as the others' yardstick. */
export const PROXY_KINDS = [
  "floor",
  "control",
  "hono",
  "duties",
  "gateway",
  "pool",
  "baseline",
  "nginx",
] as const;
/** One of {@link PROXY_KINDS}. */
export type ProxyKind = typeof PROXY_KINDS[number];

/** A listening proxy, or why it was not started. */
export type StartedProxy =
  | { process: ManagedProcess; port: number }
  | { skipped: string };

/** One-line descriptions for the table. */
export const PROXY_LABELS: Record<ProxyKind, string> = {
  floor: "floor: Deno.serve + fetch",
  control: "floor again, other processes (A/A: the run's noise)",
  hono: "hono proxy()",
  duties: "floor + the contract's per-request duties (no machinery)",
  gateway: "gateway (default policies)",
  pool: "gateway, 2 upstreams (p2c pool)",
  baseline: "gateway before (--baseline tree)",
  nginx: "nginx, 1 worker, proxy_buffering off",
};

const SERVERS = new URL("./servers/", import.meta.url);

/**
 * Starts one of the bench's own Deno servers (`servers/<file>`) and waits for
 * its listening line.
 */
export async function startBenchServer(
  group: ProcessGroup,
  file: string,
  cpus: string | null,
  env: Record<string, string> = {},
): Promise<{ process: ManagedProcess; port: number }> {
  const script = decodeURIComponent(new URL(file, SERVERS).pathname);
  const process = group.spawn(file, Deno.execPath(), ["run", "-A", script], {
    cpus,
    env,
  });
  return { process, port: await readListeningPort(process, 30_000) };
}

/** Starts `kind` in front of the origin, or says why it cannot run here. */
export async function startProxy(
  kind: ProxyKind,
  group: ProcessGroup,
  originPort: number,
  cpus: string | null,
  nginxInstalled: boolean,
  baselineRoot: string | null = null,
): Promise<StartedProxy> {
  const origin = { BENCH_ORIGIN: `http://127.0.0.1:${originPort}` };
  switch (kind) {
    case "floor":
    case "control":
      return await startBenchServer(group, "floor.ts", cpus, origin);
    case "hono":
      return await startBenchServer(group, "hono_proxy.ts", cpus, origin);
    case "duties":
      return await startBenchServer(group, "duties.ts", cpus, origin);
    case "gateway":
      if (!await entryExists(GATEWAY_ENTRY)) {
        return { skipped: `${GATEWAY_ENTRY} does not exist yet` };
      }
      return await startGateway(group, originPort, cpus);
    case "pool":
      return await startGateway(group, originPort, cpus, { upstreams: 2 });
    case "baseline":
      if (baselineRoot === null) return { skipped: "no --baseline DIR given" };
      return await startGateway(group, originPort, cpus, {
        root: baselineRoot,
      });
    case "nginx":
      if (!nginxInstalled) return { skipped: "nginx is not installed" };
      return await startNginx(group, originPort, cpus);
  }
}

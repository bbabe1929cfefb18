/**
 * Starting the product itself for the bench: `deploy/deno/main.ts` (one
 * process) or `deploy/deno/serve.ts` under `deno serve --parallel`, with a
 * temporary config of one route to the bench origin and every default policy.
 */
import {
  freePort,
  type ManagedProcess,
  type ProcessGroup,
  readListeningPort,
  waitForPort,
} from "./processes.ts";

const REPO_ROOT = new URL("../../", import.meta.url);

/** The gateway's `deno run` entry, relative to the repo root. */
export const GATEWAY_ENTRY = "deploy/deno/main.ts";
/** The gateway's `deno serve` entry (`export default { fetch }`), relative to the repo root. */
export const SERVE_ENTRY = "deploy/deno/serve.ts";

/** The repo root as a file-system path (the gateway runs from there to find deno.json). */
export const repoRootPath = decodeURIComponent(REPO_ROOT.pathname);

/** Whether `entry` (relative to the repo root) exists yet. */
export async function entryExists(entry: string): Promise<boolean> {
  try {
    return (await Deno.stat(new URL(entry, REPO_ROOT))).isFile;
  } catch {
    return false;
  }
}

/**
 * The bench config: one catch-all route to the origin; policies are left to
 * the built-in defaults so the measured gateway is the shipped one.
 */
export function benchGatewayConfig(originPort: number, upstreams = 1): object {
  const origin = `http://127.0.0.1:${originPort}`;
  return {
    routes: [{
      name: "bench",
      path: "/*",
      // A second entry for the same origin (another spelling), so the
      // route has a pool to choose from.
      upstreams: upstreams === 1 ? [origin] : [origin, `${origin}/`],
    }],
  };
}

/** A temp dir holding the config and the KV file, removed when the gateway exits. */
async function prepareGatewayDir(
  originPort: number,
  upstreams = 1,
): Promise<Record<string, string>> {
  const dir = await Deno.makeTempDir({ prefix: "bench-gateway-" });
  const configPath = `${dir}/gateway.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify(benchGatewayConfig(originPort, upstreams)),
  );
  return {
    BENCH_TMP_DIR: dir,
    GATEWAY_CONFIG: configPath,
    GATEWAY_KV_PATH: `${dir}/gateway.kv`,
    GATEWAY_DRAIN_MS: "2000",
  };
}

function removeDirOnExit(
  process: ManagedProcess,
  env: Record<string, string>,
): void {
  process.exited.finally(() =>
    Deno.remove(env.BENCH_TMP_DIR, { recursive: true }).catch(() => {})
  );
}

/**
 * Starts `deno run -A [denoFlags] deploy/deno/main.ts` on a free port and
 * returns once it printed its listening line. Access logs on stdout are drained.
 */
export async function startGateway(
  group: ProcessGroup,
  originPort: number,
  cpus: string | null,
  options: {
    denoFlags?: string[];
    /** Upstreams of the bench route (all the origin). */
    upstreams?: number;
    /** Another checkout of the gateway to run instead (a before/after row). */
    root?: string;
    /**
     * A script that runs the entry itself (its URL in `BENCH_SAMPLED`), such
     * as `servers/heap_sampled.ts`; with `env`, what else it reads.
     */
    wrapper?: { script: string; env: Record<string, string> };
  } = {},
): Promise<{ process: ManagedProcess; port: number }> {
  const env = await prepareGatewayDir(originPort, options.upstreams);
  const root = options.root ?? repoRootPath;
  const wrapper = options.wrapper;
  const process = group.spawn(
    "gateway",
    Deno.execPath(),
    [
      "run",
      "-A",
      ...options.denoFlags ?? [],
      wrapper?.script ?? GATEWAY_ENTRY,
    ],
    {
      cpus,
      cwd: root,
      env: {
        ...env,
        PORT: "0",
        HOSTNAME: "127.0.0.1",
        ...wrapper && {
          ...wrapper.env,
          BENCH_SAMPLED: new URL(GATEWAY_ENTRY, `file://${root}/`).href,
        },
      },
    },
  );
  removeDirOnExit(process, env);
  return { process, port: await readListeningPort(process, 30_000) };
}

/**
 * Starts `deno serve --parallel -A deploy/deno/serve.ts` on a free port (one
 * worker per CPU the process may use) and returns once the port accepts.
 */
export async function startParallelGateway(
  group: ProcessGroup,
  originPort: number,
  cpus: string | null,
): Promise<{ process: ManagedProcess; port: number }> {
  const env = await prepareGatewayDir(originPort);
  const port = freePort();
  const process = group.spawn(
    "gateway (deno serve --parallel)",
    Deno.execPath(),
    [
      "serve",
      "--parallel",
      "-A",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      SERVE_ENTRY,
    ],
    { cpus, cwd: repoRootPath, env },
  );
  removeDirOnExit(process, env);
  await waitForPort(process, port, 30_000);
  return { process, port };
}

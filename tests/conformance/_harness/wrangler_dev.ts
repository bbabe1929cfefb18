import {
  killQuietly,
  type ServerProcess,
  spawnCaptured,
  type Spawned,
  waitForExit,
} from "../../_fixtures/child_process.ts";
import { freePort } from "../../_fixtures/free_port.ts";

/**
 * Start-up bound: on a fresh clone the first run installs wrangler from npm
 * (deploy/workers/wrangler.sh) before workerd starts.
 */
const START_TIMEOUT_MS = 180_000;

/** Pause between readiness probes. */
const PROBE_INTERVAL_MS = 250;

/** How a `wrangler dev` is started; every field is optional. */
export interface WranglerDevOptions {
  /**
   * Status `/_gateway/health/live` answers once started: 200 unless the test
   * expects the Worker to refuse its config.
   */
  liveStatus?: number;
  /**
   * `wrangler.toml` text to run instead of the repository's own (see
   * worker_toml.ts); written to the Worker's temp directory.
   */
  toml?: string;
  /**
   * Dev registry directory (`WRANGLER_REGISTRY_PATH`): Workers that bind
   * each other share one; unset, wrangler's default registry.
   */
  registryDir?: string;
}

/** A running `wrangler dev`. */
export interface WranglerDev extends ServerProcess {
  /** Names of the keys in its local `GATEWAY_KV` namespace. */
  kvKeys(): Promise<string[]>;
}

/**
 * Starts `wrangler dev` (local workerd) on 127.0.0.1 and a free port, with
 * `config` (JSON text) passed as the `GATEWAY_CONFIG` variable and local
 * state kept in a temp directory; resolves once `/_gateway/health/live`
 * answers `options.liveStatus`.
 *
 * @example
 * ```ts ignore
 * const worker = await startWranglerDev(JSON.stringify(config));
 * try { await fetch(`${worker.baseUrl}/_gateway/health/live`); }
 * finally { await worker.stop(); }
 *
 * const a = await startWranglerDev(config, {
 *   toml: await shippedToml("gw-a"),
 *   registryDir,
 * });
 * ```
 */
export async function startWranglerDev(
  config: string,
  { liveStatus = 200, toml, registryDir }: WranglerDevOptions = {},
): Promise<WranglerDev> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-workerd-" });
  const persistTo = `${dir}/state`;
  const configArgs: string[] = [];
  if (toml !== undefined) {
    const configPath = `${dir}/wrangler.toml`;
    await Deno.writeTextFile(configPath, toml);
    configArgs.push("--config", configPath);
  }
  const env: Record<string, string> = registryDir === undefined
    ? {}
    : { WRANGLER_REGISTRY_PATH: registryDir };
  const port = freePort();
  const spawned = spawnWrangler([
    "dev",
    ...configArgs,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(freePort()),
    "--persist-to",
    persistTo,
    "--var",
    `GATEWAY_CONFIG:${config}`,
  ], env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (timeoutMs = 15_000) => {
    killQuietly(spawned.child, "SIGTERM");
    try {
      return await waitForExit(spawned, timeoutMs);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
  try {
    await waitUntilLive(baseUrl, liveStatus, spawned.child);
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(
      `Cannot start wrangler dev: ${(error as Error).message}\n` +
        spawned.stdout.tail() + "\n" + spawned.stderr.tail(),
    );
  }
  return {
    baseUrl,
    port,
    stdout: spawned.stdout,
    stderr: spawned.stderr,
    stop,
    kvKeys: () =>
      listLocalKvKeys([...configArgs, "--persist-to", persistTo], env),
  };
}

/** `sh deploy/workers/wrangler.sh args`, never reporting usage. */
function spawnWrangler(args: string[], env: Record<string, string>): Spawned {
  return spawnCaptured("sh", ["deploy/workers/wrangler.sh", ...args], {
    WRANGLER_SEND_METRICS: "false",
    ...env,
  });
}

/**
 * `wrangler kv key list` on the local store of the Worker that `stateArgs`
 * (its `--config` and `--persist-to`) name.
 */
async function listLocalKvKeys(
  stateArgs: string[],
  env: Record<string, string>,
): Promise<string[]> {
  const spawned = spawnWrangler([
    "kv",
    "key",
    "list",
    "--binding",
    "GATEWAY_KV",
    "--local",
    ...stateArgs,
  ], env);
  const status = await waitForExit(spawned, 60_000);
  const output = spawned.stdout.lines.join("\n");
  if (!status.success) {
    throw new Error(
      `Cannot list KV keys:\n${output}\n${spawned.stderr.tail()}`,
    );
  }
  // The JSON array follows wrangler's banner lines.
  const keys = JSON.parse(output.slice(output.indexOf("["))) as {
    name: string;
  }[];
  return keys.map((key) => key.name);
}

/**
 * Probes the liveness endpoint until it answers `liveStatus`, the process
 * exits, or the start-up bound passes. Each probe is itself bounded.
 */
async function waitUntilLive(
  baseUrl: string,
  liveStatus: number,
  child: Deno.ChildProcess,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + START_TIMEOUT_MS;
  const maxProbes = Math.ceil(START_TIMEOUT_MS / PROBE_INTERVAL_MS);
  for (let probe = 0; probe < maxProbes && Date.now() < deadline; probe++) {
    if (exited) throw new Error("wrangler exited before it served requests");
    if (await probeStatus(baseUrl) === liveStatus) return;
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  throw new Error(`not live within ${START_TIMEOUT_MS} ms`);
}

/** The liveness endpoint's status, or undefined while nothing listens. */
async function probeStatus(baseUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${baseUrl}/_gateway/health/live`, {
      signal: AbortSignal.timeout(2_000),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined; // not listening yet
  }
}

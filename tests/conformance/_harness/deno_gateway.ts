import {
  killQuietly,
  type ServerProcess,
  spawnCaptured,
  waitForExit,
} from "./child_process.ts";

/** Start-up bound: Deno may still be fetching npm packages on a fresh clone. */
const START_TIMEOUT_MS = 60_000;

/** Drain bound given to the gateway, short so `stop()` is quick. */
const TEST_DRAIN_MS = 2_000;

/**
 * Starts `deno run -A deploy/deno/main.ts` on 127.0.0.1 and a free port with
 * `config` (JSON text) written to a temp file, a temp Deno KV file, and waits
 * for its `"listening"` log line.
 *
 * @example
 * ```ts ignore
 * const gateway = await startDenoGateway(JSON.stringify(config));
 * try { await fetch(`${gateway.baseUrl}/_gateway/health/live`); }
 * finally { await gateway.stop(); }
 * ```
 */
export async function startDenoGateway(config: string): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-conformance-" });
  const spawned = await spawnDenoGateway(config, dir);
  let port: number;
  try {
    port = await spawned.stdout.waitFor(listeningPort, START_TIMEOUT_MS);
  } catch (error) {
    killQuietly(spawned.child, "SIGKILL");
    await waitForExit(spawned, 10_000);
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `Cannot start the Deno gateway: ${(error as Error).message}\n` +
        spawned.stdout.tail() + "\n" + spawned.stderr.tail(),
    );
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    stdout: spawned.stdout,
    stderr: spawned.stderr,
    async stop(timeoutMs = TEST_DRAIN_MS + 10_000) {
      killQuietly(spawned.child, "SIGTERM");
      try {
        return await waitForExit(spawned, timeoutMs);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/**
 * Runs the Deno gateway with `config` and waits for it to exit on its own
 * (an invalid config must stop start-up); returns the status and output.
 */
export async function runDenoGatewayToExit(
  config: string,
  timeoutMs = START_TIMEOUT_MS,
): Promise<{ status: Deno.CommandStatus; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-conformance-" });
  try {
    const spawned = await spawnDenoGateway(config, dir);
    const status = await waitForExit(spawned, timeoutMs);
    const output = [...spawned.stdout.lines, ...spawned.stderr.lines].join(
      "\n",
    );
    return { status, output };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function spawnDenoGateway(config: string, dir: string) {
  const configPath = `${dir}/gateway.json`;
  await Deno.writeTextFile(configPath, config);
  return spawnCaptured(Deno.execPath(), [
    "run",
    "--allow-all",
    "deploy/deno/main.ts",
  ], {
    GATEWAY_CONFIG: configPath,
    GATEWAY_KV_PATH: `${dir}/gateway.kv`,
    GATEWAY_DRAIN_MS: String(TEST_DRAIN_MS),
    PORT: "0",
    HOSTNAME: "127.0.0.1",
  });
}

/** The port of a JSON log line whose `msg` is `"listening"`. */
function listeningPort(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line);
    return entry.msg === "listening" && typeof entry.port === "number"
      ? entry.port
      : undefined;
  } catch {
    return undefined;
  }
}

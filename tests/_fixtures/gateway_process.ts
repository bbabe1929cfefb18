/**
 * The real gateway (`deploy/deno/main.ts`, as `deno task start` runs it) in a
 * child process, for tests that need what only a process has: signals, exit
 * codes, several instances sharing one Deno KV file.
 *
 * @module
 */

import {
  killQuietly,
  type ServerProcess,
  spawnCaptured,
  type Spawned,
  waitForExit,
} from "./child_process.ts";

/** Start-up bound: Deno may still be fetching npm packages on a fresh clone. */
const START_TIMEOUT_MS = 60_000;

/** Default `GATEWAY_DRAIN_MS`: short, so `stop()` is quick. */
const DEFAULT_DRAIN_MS = 2_000;

/** How to start one gateway process. */
export interface GatewayProcessOptions {
  /** The config: an object (serialised) or JSON text, written to a temp file. */
  config: unknown;
  /**
   * The Deno KV file (`GATEWAY_KV_PATH`); give several processes the same
   * path to share breaker state. Default: a file in the process's temp dir.
   */
  kvPath?: string;
  /** `GATEWAY_DRAIN_MS` (default 2000). */
  drainMs?: number;
  /** More environment variables; they win over the ones set here. */
  env?: Record<string, string>;
}

/** A running gateway process. */
export interface GatewayProcess extends ServerProcess {
  /** The child's process id. */
  readonly pid: number;
  /** Every JSON line written to stdout so far, parsed (log and access lines). */
  logs(): Record<string, unknown>[];
  /**
   * Resolves with the first JSON log line (already written or still to
   * come) that `matches`; rejects after `timeoutMs` or when output ends.
   */
  waitForLog(
    matches: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` (SIGTERM to start a drain); a no-op once exited. */
  kill(signal: Deno.Signal): void;
  /**
   * Waits for the exit without signalling (SIGKILLs and throws after
   * `timeoutMs`); removes the temp dir. Safe to call more than once.
   */
  exited(timeoutMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * Starts `deno run --allow-all deploy/deno/main.ts` on 127.0.0.1 and a free
 * port (`PORT=0`), and waits for its `listening` log line.
 *
 * @example
 * ```ts ignore
 * const gateway = await startGatewayProcess({ config, kvPath: `${dir}/shared.kv` });
 * try {
 *   await fetch(`${gateway.baseUrl}/_gateway/health/live`);
 * } finally {
 *   await gateway.stop();
 * }
 * ```
 */
export async function startGatewayProcess(
  options: GatewayProcessOptions,
): Promise<GatewayProcess> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-process-" });
  const spawned = await spawnGateway(options, dir);
  let exit: Promise<Deno.CommandStatus> | undefined;
  const exited = (timeoutMs = (options.drainMs ?? DEFAULT_DRAIN_MS) + 10_000) =>
    exit ??= waitForExit(spawned, timeoutMs).finally(() =>
      Deno.remove(dir, { recursive: true })
    );
  let port: number;
  try {
    port = await spawned.stdout.waitFor(listeningPort, START_TIMEOUT_MS);
  } catch (error) {
    killQuietly(spawned.child, "SIGKILL");
    await exited().catch(() => {});
    throw new Error(
      `Cannot start the gateway process: ${(error as Error).message}\n` +
        spawned.stdout.tail() + "\n" + spawned.stderr.tail(),
    );
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    pid: spawned.child.pid,
    stdout: spawned.stdout,
    stderr: spawned.stderr,
    logs: () =>
      spawned.stdout.lines.map(parseJsonLine).filter((line) =>
        line !== undefined
      ),
    waitForLog: (matches, timeoutMs = 5_000) =>
      spawned.stdout.waitFor((text) => {
        const line = parseJsonLine(text);
        return line !== undefined && matches(line) ? line : undefined;
      }, timeoutMs),
    kill: (signal) => killQuietly(spawned.child, signal),
    exited,
    stop(timeoutMs) {
      killQuietly(spawned.child, "SIGTERM");
      return exited(timeoutMs);
    },
  };
}

/**
 * Runs the gateway and waits for it to exit on its own (an invalid setup
 * must stop start-up); returns the status and all output.
 *
 * @example
 * ```ts ignore
 * const { status, output } = await runGatewayProcessToExit({ config: { routes: [] } });
 * ```
 */
export async function runGatewayProcessToExit(
  options: GatewayProcessOptions,
  timeoutMs = START_TIMEOUT_MS,
): Promise<{ status: Deno.CommandStatus; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-process-" });
  try {
    const spawned = await spawnGateway(options, dir);
    const status = await waitForExit(spawned, timeoutMs);
    const output = [...spawned.stdout.lines, ...spawned.stderr.lines].join(
      "\n",
    );
    return { status, output };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function spawnGateway(
  options: GatewayProcessOptions,
  dir: string,
): Promise<Spawned> {
  const configPath = `${dir}/gateway.json`;
  await Deno.writeTextFile(
    configPath,
    typeof options.config === "string"
      ? options.config
      : JSON.stringify(options.config),
  );
  return spawnCaptured(Deno.execPath(), [
    "run",
    "--allow-all",
    "deploy/deno/main.ts",
  ], {
    GATEWAY_CONFIG: configPath,
    GATEWAY_KV_PATH: options.kvPath ?? `${dir}/gateway.kv`,
    GATEWAY_DRAIN_MS: String(options.drainMs ?? DEFAULT_DRAIN_MS),
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    ...options.env,
  });
}

function parseJsonLine(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // a line that only looks like JSON
  }
}

/** The port of a JSON log line whose `msg` is `"listening"`. */
function listeningPort(text: string): number | undefined {
  const line = parseJsonLine(text);
  return line?.msg === "listening" && typeof line.port === "number"
    ? line.port
    : undefined;
}

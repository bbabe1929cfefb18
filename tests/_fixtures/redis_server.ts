/**
 * A real Debian `redis-server` per test, on a free loopback port with
 * persistence off. Tests that need one are `ignore`d (with the reason
 * printed once) when it is not on PATH, unless `GATEWAY_REQUIRE_REDIS=1`
 * (CI), where a missing server fails them instead.
 *
 * @module
 */

import {
  killQuietly,
  spawnCaptured,
  type Spawned,
  waitForExit,
} from "./child_process.ts";
import { freePort } from "./free_port.ts";

const START_TIMEOUT_MS = 10_000;

function onPath(command: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":");
  return dirs.some((dir) => {
    try {
      return Deno.statSync(`${dir}/${command}`).isFile;
    } catch {
      return false;
    }
  });
}

const available = onPath("redis-server");
const required = Deno.env.get("GATEWAY_REQUIRE_REDIS") === "1";

/**
 * `true` when Redis tests must be skipped: pass it as `ignore` to
 * `Deno.test`. Says why once on stderr.
 */
export const IGNORE_WITHOUT_REDIS = !available && !required;
if (IGNORE_WITHOUT_REDIS) {
  console.error(
    "redis-server is not on PATH: Redis tests are ignored (install Debian's redis-server; CI sets GATEWAY_REQUIRE_REDIS=1 to fail instead)",
  );
}

/** A running redis-server; start it again on the same port with `restart()`. */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the server at once (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  restart(): Promise<void>;
  /** Stops the process (SIGSTOP): connections are accepted, nothing answers. */
  pause(): void;
  /** Lets a paused server run on (SIGCONT). */
  resume(): void;
}

/**
 * Starts `redis-server` on `port` (default: a free loopback port), with `args` added (e.g.
 * `--requirepass`) and waits until it accepts connections.
 *
 * @example
 * ```ts ignore
 * await using redis = await startRedis();
 * const store = RedisStore.fromUrl(redis.url, { clock: systemClock });
 * ```
 */
export async function startRedis(
  options: { args?: string[]; port?: number } = {},
): Promise<RedisServer> {
  if (!available) {
    throw new Error(
      "Cannot start redis-server as it is not on PATH, and GATEWAY_REQUIRE_REDIS=1 makes that a failure",
    );
  }
  const port = options.port ?? freePort();
  const args = options.args ?? [];
  let spawned: Spawned | null = await spawn(port, args);
  const kill = async () => {
    if (spawned === null) return;
    killQuietly(spawned.child, "SIGKILL");
    await waitForExit(spawned, 5_000);
    spawned = null;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      spawned = await spawn(port, args);
    },
    pause: () => spawned?.child.kill("SIGSTOP"),
    resume: () => spawned?.child.kill("SIGCONT"),
    async [Symbol.asyncDispose]() {
      spawned?.child.kill("SIGCONT");
      await kill();
    },
  };
}

async function spawn(port: number, args: string[]): Promise<Spawned> {
  const spawned = spawnCaptured("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    ...args,
  ], {});
  try {
    await spawned.stdout.waitFor(
      (line) => line.includes("Ready to accept connections") || undefined,
      START_TIMEOUT_MS,
    );
  } catch (error) {
    killQuietly(spawned.child, "SIGKILL");
    await waitForExit(spawned, 5_000);
    throw new Error(
      `Cannot start redis-server on port ${port}: ${
        (error as Error).message
      }\n${spawned.stdout.tail()}`,
    );
  }
  return spawned;
}

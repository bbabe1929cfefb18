import { LineLog } from "./line_log.ts";

/** The repository root, where `deno.json` and `wrangler.toml` live. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** A server under test running as a child process. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly port: number;
  readonly stdout: LineLog;
  readonly stderr: LineLog;
  /**
   * Sends SIGTERM and waits (bounded) for the exit; SIGKILLs and throws if it
   * takes longer than `timeoutMs`. Also removes the server's temp directory.
   */
  stop(timeoutMs?: number): Promise<Deno.CommandStatus>;
}

/** A spawned child with its output captured line by line. */
export interface Spawned {
  child: Deno.ChildProcess;
  stdout: LineLog;
  stderr: LineLog;
}

/**
 * Spawns `command args` in the repository root with piped output and no
 * stdin, adding `env` to the inherited environment.
 */
export function spawnCaptured(
  command: string,
  args: string[],
  env: Record<string, string>,
): Spawned {
  const child = new Deno.Command(command, {
    args,
    cwd: REPO_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return {
    child,
    stdout: new LineLog(child.stdout),
    stderr: new LineLog(child.stderr),
  };
}

/**
 * Waits for the child to exit, at most `timeoutMs`; past that it is killed
 * with `signal` and an error is thrown. Output is drained either way.
 */
export async function waitForExit(
  spawned: Spawned,
  timeoutMs: number,
  signal: Deno.Signal = "SIGKILL",
): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  const first = await Promise.race([spawned.child.status, late]);
  clearTimeout(timer);
  if (first === "late") {
    killQuietly(spawned.child, signal);
    await spawned.child.status;
  }
  await Promise.all([spawned.stdout.done, spawned.stderr.done]);
  if (first === "late") {
    throw new Error(
      `Cannot wait for the process to exit: still running after ${timeoutMs} ms\n` +
        spawned.stderr.tail(),
    );
  }
  return first;
}

/** Sends a signal to a child that may already have exited. */
export function killQuietly(
  child: Deno.ChildProcess,
  signal: Deno.Signal,
): void {
  try {
    child.kill(signal);
  } catch {
    // already exited
  }
}

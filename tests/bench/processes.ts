/**
 * Every process the bench starts goes through one {@link ProcessGroup}, so a
 * failed or interrupted run still ends all of them.
 */

/** How to start one child process. */
export interface SpawnOptions {
  /**
   * CPU list for `taskset -c` (e.g. `"1"` or `"0-1"`); `null` runs the command
   * without taskset (affinity as inherited), as when taskset is missing.
   */
  cpus: string | null;
  env?: Record<string, string>;
  cwd?: string;
}

/** A started child with its output kept in reach for error messages. */
export interface ManagedProcess {
  name: string;
  pid: number;
  child: Deno.ChildProcess;
  /** Lines of stdout, read as they come; ends when stdout closes. */
  stdoutLines: AsyncIterator<string>;
  /** The last few KiB of stderr, for messages when the process fails. */
  stderrTail(): string;
  /** Resolves when the process exits. */
  exited: Promise<Deno.CommandStatus>;
  hasExited(): boolean;
}

const STDERR_TAIL_CHARS = 4096;
const STOP_GRACE_MS = 5000;

async function* splitLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  if (pending) yield pending;
}

/**
 * Starts, tracks and stops the bench's child processes.
 *
 * @example
 * ```ts ignore
 * const group = new ProcessGroup();
 * try {
 *   const origin = group.spawn("origin", Deno.execPath(), ["run", "-A", "origin.ts"], { cpus: "0" });
 *   const port = await readListeningPort(origin, 10_000);
 * } finally {
 *   await group.stopAll();
 * }
 * ```
 */
export class ProcessGroup {
  #running = new Set<ManagedProcess>();
  /** Set by stopAll: an interrupted run must not start anything after its clean-up. */
  #closed = false;

  /** Starts `command args…`, under `taskset -c options.cpus` unless that is `null`. */
  spawn(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions,
  ): ManagedProcess {
    if (this.#closed) {
      throw new Error(`Cannot start ${name} as the bench is stopping`);
    }
    const pinned = options.cpus !== null;
    const child = new Deno.Command(pinned ? "taskset" : command, {
      args: pinned ? ["-c", options.cpus!, command, ...args] : args,
      // Plain stderr, so failures read cleanly in the report.
      env: { NO_COLOR: "1", ...options.env },
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let tail = "";
    const stderrDone = (async () => {
      for await (
        const text of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        tail = (tail + text).slice(-STDERR_TAIL_CHARS);
      }
    })();
    let exited = false;
    const process: ManagedProcess = {
      name,
      pid: child.pid,
      child,
      stdoutLines: splitLines(child.stdout),
      stderrTail: () => tail.trim(),
      exited: child.status.then(async (status) => {
        exited = true;
        await stderrDone;
        this.#running.delete(process);
        return status;
      }),
      hasExited: () => exited,
    };
    this.#running.add(process);
    return process;
  }

  /**
   * Runs a command to its end as a member of the group (so an interrupted
   * bench ends it too) and returns its stdout and the tail of its stderr.
   */
  async collect(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions,
  ): Promise<{ success: boolean; stdout: string; stderr: string }> {
    const process = this.spawn(name, command, args, options);
    const lines: string[] = [];
    for (;;) {
      const { value, done } = await process.stdoutLines.next();
      if (done) break;
      lines.push(value);
    }
    const { success } = await process.exited;
    return { success, stdout: lines.join("\n"), stderr: process.stderrTail() };
  }

  /** Stops one process: SIGTERM, then SIGKILL after a grace period. */
  async stop(process: ManagedProcess): Promise<Deno.CommandStatus> {
    if (!process.hasExited()) {
      try {
        process.child.kill("SIGTERM");
      } catch {
        // Already gone between the check and the signal.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
      });
      const outcome = await Promise.race([process.exited, graceOver]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        try {
          process.child.kill("SIGKILL");
        } catch {
          // Exited just now.
        }
      }
    }
    // Stdout may hold unread output; drain it so the pipe closes.
    await drainLines(process);
    return await process.exited;
  }

  /** Stops every process still running, all of them even if one stop fails; starts no more. */
  async stopAll(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#running].map((p) => this.stop(p)));
  }
}

/** Reads and discards the rest of a process's stdout (e.g. access logs). */
export async function drainLines(process: ManagedProcess): Promise<void> {
  for (;;) {
    const { done } = await process.stdoutLines.next();
    if (done) return;
  }
}

/**
 * Waits for the `{"msg":"listening","port":N}` line on the process's stdout,
 * then keeps draining stdout in the background so the child never blocks on a
 * full pipe. Fails with the child's stderr when it exits or times out first.
 */
export async function readListeningPort(
  process: ManagedProcess,
  timeoutMs: number,
): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(failure(process, `no listening line in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const found = (async () => {
    for (;;) {
      const { value, done } = await process.stdoutLines.next();
      if (done) throw failure(process, "exited before listening");
      const port = listeningPort(value);
      if (port !== null) return port;
    }
  })();
  try {
    const port = await Promise.race([found, timedOut]);
    drainLines(process).catch(() => {});
    return port;
  } finally {
    clearTimeout(timer);
  }
}

function listeningPort(line: string): number | null {
  if (!line.startsWith("{")) return null;
  try {
    const parsed = JSON.parse(line);
    return parsed?.msg === "listening" && typeof parsed.port === "number"
      ? parsed.port
      : null;
  } catch {
    return null;
  }
}

/**
 * Waits until a TCP connect to 127.0.0.1:port succeeds, for servers that print
 * no listening line (nginx, `deno serve`). Bounded by `timeoutMs`.
 */
export async function waitForPort(
  process: ManagedProcess,
  port: number,
  timeoutMs: number,
): Promise<void> {
  drainLines(process).catch(() => {});
  const retryMs = 50;
  for (let waited = 0; waited < timeoutMs; waited += retryMs) {
    if (process.hasExited()) throw failure(process, "exited before listening");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
  throw failure(process, `port ${port} not open after ${timeoutMs} ms`);
}

function failure(process: ManagedProcess, what: string): Error {
  const stderr = process.stderrTail();
  return new Error(
    `${process.name} ${what}${stderr ? `:\n${stderr}` : ""}`,
  );
}

/** A port free right now on 127.0.0.1, for servers that cannot take port 0. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

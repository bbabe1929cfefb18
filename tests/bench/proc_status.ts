/** Memory of a process, from Linux `/proc/<pid>/status` (root not needed to read). */

/** Current resident set and its peak since start or the last reset, in KiB. */
export interface MemoryKiB {
  rss: number;
  peak: number;
}

/** Reads VmRSS and VmHWM of `pid`. */
export async function readMemory(pid: number): Promise<MemoryKiB> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`Cannot read ${name} of process ${pid}`);
    return Number(match[1]);
  };
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

/**
 * Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so a
 * later peak belongs to the phase that follows. Returns false when the kernel
 * or permissions refuse; the peak then includes earlier phases.
 */
export async function resetPeak(pid: number): Promise<boolean> {
  try {
    await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time `pid` has used so far (user + system, every thread), in ms, from
 * `/proc/<pid>/stat`; `null` when it cannot be read. CPU time per request
 * is what a busy, shared machine distorts least: other work steals wall
 * time from a process, not the CPU time it spends.
 */
export async function readCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

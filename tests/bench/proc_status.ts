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

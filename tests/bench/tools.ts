/**
 * The outside tools the bench drives, checked (and installed from Debian when
 * missing and possible) before anything starts, with a clear message for each.
 */

/** Which tools are usable for this run. */
export interface ToolSet {
  wrk: boolean;
  curl: boolean;
  nginx: boolean;
  taskset: boolean;
}

interface Tool {
  name: keyof ToolSet;
  debianPackage: string;
  /** What the bench loses without it; `null` when the bench cannot run. */
  withoutIt: string | null;
}

const TOOLS: Tool[] = [
  { name: "wrk", debianPackage: "wrk", withoutIt: null },
  { name: "curl", debianPackage: "curl", withoutIt: null },
  {
    name: "taskset",
    debianPackage: "util-linux",
    withoutIt: "processes run unpinned; numbers are noisier",
  },
  {
    name: "nginx",
    debianPackage: "nginx",
    withoutIt: "the nginx row is skipped",
  },
];

async function onPath(name: string): Promise<boolean> {
  const { success } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

async function aptInstall(packages: string[]): Promise<boolean> {
  const run = async (args: string[]) =>
    (await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).output()).success;
  return await run(["update", "-qq"]) &&
    await run(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
}

/**
 * Finds wrk, curl, taskset and nginx; installs the missing ones with apt-get
 * when running as root. Throws when a required tool is still missing.
 */
export async function ensureTools(
  log: (line: string) => void,
): Promise<ToolSet> {
  const found = Object.fromEntries(
    await Promise.all(TOOLS.map(async (t) => [t.name, await onPath(t.name)])),
  ) as ToolSet;
  const missing = TOOLS.filter((t) => !found[t.name]);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => t.debianPackage))];
    const canInstall = Deno.uid() === 0 && await onPath("apt-get");
    if (canInstall) {
      log(`bench: installing ${packages.join(" ")} with apt-get …`);
      if (!await aptInstall(packages)) log("bench: apt-get failed");
      for (const tool of missing) found[tool.name] = await onPath(tool.name);
    } else {
      log(
        `bench: missing ${missing.map((t) => t.name).join(", ")}; ` +
          `install with: sudo apt-get install ${packages.join(" ")}`,
      );
    }
  }
  for (const tool of TOOLS) {
    if (found[tool.name]) continue;
    if (tool.withoutIt === null) {
      throw new Error(`Cannot run the bench as ${tool.name} is not installed`);
    }
    log(`bench: ${tool.name} not available: ${tool.withoutIt}`);
  }
  return found;
}

/**
 * Profiles the gateway under load (`deno run --cpu-prof`) and summarises where
 * its CPU time goes, the input for removing per-request waste.
 */
import { type ProfileSummary, summarizeProfile } from "./cpu_profile.ts";
import type { BenchPlan } from "./flags.ts";
import { startGateway } from "./gateway.ts";
import type { ProcessGroup } from "./processes.ts";
import { loadWithWarmup } from "./measure.ts";

const REPO_ROOT_URL = new URL("../../", import.meta.url).href;

/**
 * Runs the gateway on `proxyCpus` with `--cpu-prof`, loads it like the main
 * table does, stops it with SIGTERM (the profile is written on a clean exit)
 * and copies the raw profile to `outputPath` for Chrome DevTools.
 */
export async function profileGateway(
  group: ProcessGroup,
  originPort: number,
  plan: BenchPlan,
  proxyCpus: string | null,
  loadCpus: string | null,
  outputPath: string,
): Promise<ProfileSummary> {
  const dir = await Deno.makeTempDir({ prefix: "bench-cpuprof-" });
  try {
    const started = await startGateway(group, originPort, proxyCpus, {
      denoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    });
    try {
      await loadWithWarmup(
        group,
        `http://127.0.0.1:${started.port}`,
        plan,
        loadCpus,
      );
    } finally {
      await group.stop(started.process);
    }
    const files = [...Deno.readDirSync(dir)].filter((f) =>
      f.name.endsWith(".cpuprofile")
    );
    if (files.length === 0) {
      throw new Error(
        "the gateway wrote no .cpuprofile: does it exit cleanly on SIGTERM?",
      );
    }
    const text = await Deno.readTextFile(`${dir}/${files[0].name}`);
    await Deno.writeTextFile(outputPath, text);
    return summarizeProfile(JSON.parse(text), REPO_ROOT_URL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

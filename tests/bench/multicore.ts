/**
 * The multi-core section: the gateway pinned to one core against the same
 * gateway free to use every core, as one process and as `deno serve --parallel`.
 */
import type { BenchPlan } from "./flags.ts";
import {
  entryExists,
  GATEWAY_ENTRY,
  SERVE_ENTRY,
  startGateway,
  startParallelGateway,
} from "./gateway.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import type { MulticoreRow } from "./report.ts";
import { loadWithWarmup } from "./measure.ts";
import type { WrkResult } from "./wrk.ts";

/** Where things run: `null` entries mean taskset is missing and nothing is pinned. */
export interface CoreLayout {
  /** Load generator, origin and clients. */
  load: string | null;
  /** The proxy under test. */
  proxy: string | null;
  /** Every core, to undo the pinning a child inherits from the bench. */
  all: string | null;
}

async function loadOnce(
  group: ProcessGroup,
  started: { process: ManagedProcess; port: number },
  plan: BenchPlan,
  loadCpus: string | null,
): Promise<WrkResult> {
  try {
    return await loadWithWarmup(
      group,
      `http://127.0.0.1:${started.port}`,
      plan,
      loadCpus,
    );
  } finally {
    await group.stop(started.process);
  }
}

async function row(
  label: string,
  measure: () => Promise<WrkResult>,
  note = "",
): Promise<MulticoreRow> {
  try {
    return { label, load: await measure(), note };
  } catch (error) {
    return {
      label,
      note: `failed: ${error instanceof Error ? error.message : error}`,
    };
  }
}

/**
 * Measures the gateway pinned, unpinned as one process, and under `deno serve --parallel` when
 * `deploy/deno/serve.ts` exists. The load generator stays on `cores.load`.
 */
export async function measureMulticore(
  group: ProcessGroup,
  originPort: number,
  plan: BenchPlan,
  cores: CoreLayout,
  cpuCount: number,
): Promise<MulticoreRow[]> {
  if (!await entryExists(GATEWAY_ENTRY)) {
    return [{ label: "gateway", note: `${GATEWAY_ENTRY} does not exist yet` }];
  }
  const shared = cpuCount <= 2 ? "shares cores with wrk and the origin" : "";
  const rows = [
    await row(
      `one process pinned to core ${cores.proxy ?? "(unpinned)"}`,
      async () =>
        await loadOnce(
          group,
          await startGateway(group, originPort, cores.proxy),
          plan,
          cores.load,
        ),
    ),
    await row(
      `one process, unpinned (${cpuCount} cores)`,
      async () =>
        await loadOnce(
          group,
          await startGateway(group, originPort, cores.all),
          plan,
          cores.load,
        ),
      shared,
    ),
  ];
  if (await entryExists(SERVE_ENTRY)) {
    rows.push(
      await row(
        `deno serve --parallel, ${cpuCount} workers, unpinned`,
        async () =>
          await loadOnce(
            group,
            await startParallelGateway(group, originPort, cores.all),
            plan,
            cores.load,
          ),
        shared,
      ),
    );
  } else {
    rows.push({
      label: "deno serve --parallel",
      note:
        `not measured: ${SERVE_ENTRY} (an \`export default { fetch }\` entry) does not exist`,
    });
  }
  return rows;
}

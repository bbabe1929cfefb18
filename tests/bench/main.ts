/**
 * `deno task bench`: the gateway against the runtime's floor (bare
 * `Deno.serve` + `fetch`), Hono's `proxy()` and nginx, each pinned to one
 * core and driven by wrk on another. Prints a Markdown table and writes
 * `bench-results/latest.md` and `latest.json`. Progress goes to stderr.
 *
 * Flags: `--quick`, `--only floor,hono,gateway,nginx`, `--profile` (see flags.ts).
 * `deno task bench websocket` runs the short WebSocket benchmark instead
 * (websocket.ts).
 */
import { type BenchPlan, parseBenchFlags, USAGE } from "./flags.ts";
import { repoRootPath } from "./gateway.ts";
import {
  type LoadTarget,
  measureInterleaved,
  type ProxyInstance,
} from "./interleaved.ts";
import {
  checkProxy,
  measureBigBodies,
  measureDirect,
  measureStreamLag,
} from "./measure.ts";
import { type CoreLayout, measureMulticore } from "./multicore.ts";
import { type ManagedProcess, ProcessGroup } from "./processes.ts";
import { measurePools, renderPools } from "./pools.ts";
import { profileGateway } from "./profile.ts";
import { measureAllocation, renderAllocation } from "./alloc.ts";
import {
  PROXY_LABELS,
  type ProxyKind,
  startBenchServer,
  startProxy,
} from "./proxies.ts";
import { type BenchReport, renderMarkdown, writeReport } from "./report.ts";
import { ensureTools } from "./tools.ts";
import { runWebSocketBench } from "./websocket.ts";

const RESULTS_DIR = `${repoRootPath}bench-results`;
const log = (line: string) => console.error(line);

async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/** The 1-minute load average, `null` off Linux. */
async function loadAverage(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return null;
  }
}

/** Pins the bench itself (and so, by inheritance, anything it starts unpinned) to `cpus`. */
async function pinSelf(cpus: string): Promise<void> {
  const { success } = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpus, String(Deno.pid)],
    stdout: "null",
  }).output();
  if (!success) log(`bench: could not pin itself to CPU ${cpus}`);
}

function coreLayout(cpuCount: number, canPin: boolean): CoreLayout {
  if (!canPin) return { load: null, proxy: null, all: null };
  if (cpuCount < 2) {
    log("bench: one CPU only: proxy and load generator share it");
    return { load: "0", proxy: "0", all: "0" };
  }
  return { load: "0", proxy: "1", all: `0-${cpuCount - 1}` };
}

/** What {@linkcode startInstances} needs besides the proxy's kind. */
interface StartInstancesOptions {
  group: ProcessGroup;
  originPort: number;
  cpus: string | null;
  nginxInstalled: boolean;
  baselineRoot: string | null;
  /** How many processes. */
  count: number;
  /** Every started process is added here, to be stopped at the end. */
  stopping: ManagedProcess[];
}

/** Starts `count` answering processes of one proxy, or says why not. */
async function startInstances(
  kind: ProxyKind,
  options: StartInstancesOptions,
): Promise<LoadTarget | { skipped: string }> {
  const instances: ProxyInstance[] = [];
  while (instances.length < options.count) {
    const started = await startProxy(
      kind,
      options.group,
      options.originPort,
      options.cpus,
      options.nginxInstalled,
      options.baselineRoot,
    ).then(async (started) => {
      if ("skipped" in started) return started;
      options.stopping.push(started.process);
      await checkProxy(`http://127.0.0.1:${started.port}`);
      return started;
    }).catch((error: Error) => ({
      skipped: `failed to start: ${error.message}`,
    }));
    if ("skipped" in started) return started;
    instances.push({
      url: `http://127.0.0.1:${started.port}`,
      pid: started.process.pid,
    });
  }
  return { kind, instances };
}

async function run(group: ProcessGroup, plan: BenchPlan): Promise<BenchReport> {
  const tools = await ensureTools(log);
  const cpuCount = navigator.hardwareConcurrency;
  const cores = coreLayout(cpuCount, tools.taskset);
  if (cores.load !== null) await pinSelf(cores.load);

  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      cpuModel: await cpuModel(),
      loadAverage: { start: await loadAverage(), end: null },
      cpus: cpuCount,
      quick: plan.quick,
      pinning: cores.proxy === null
        ? "Nothing pinned (taskset missing)."
        : `Proxy pinned to core ${cores.proxy}; wrk, origin and clients on core ${cores.load}.`,
      load:
        `every proxy running at once as ${plan.instances} process(es), loaded in turn; ` +
        `${plan.warmupSeconds} s warm-up each, then ${plan.cycles} cycles ` +
        `of wrk -t1 -c${plan.connections} -d${plan.sliceSeconds}s --latency per proxy, ` +
        `each after ${plan.rewarmSeconds} s of unmeasured load, order rotating; ` +
        `ratios per cycle (median [min–max]); 1 KiB responses; stream ${plan.streamChunks} chunks every ` +
        `${plan.streamIntervalMs} ms; big body ${
          plan.bigBodyBytes / 2 ** 20
        } MiB with curl, ` +
        `${plan.bigBodyRounds} interleaved round(s)`,
    },
    direct: null,
    rows: [],
    load: [],
    multicore: null,
    profile: null,
  };

  log("bench: starting the origin");
  const origin = await startBenchServer(group, "origin.ts", cores.load);
  const originUrl = `http://127.0.0.1:${origin.port}`;
  log("bench: measuring the origin directly");
  const direct = await measureDirect(group, originUrl, plan, cores.load);
  report.direct = direct;

  log(
    `bench: starting every proxy, ${plan.instances} process(es) each, on the proxy core`,
  );
  const running: LoadTarget[] = [];
  const stopping: ManagedProcess[] = [];
  for (const kind of plan.proxies) {
    const label = PROXY_LABELS[kind];
    const started = await startInstances(kind, {
      group,
      originPort: origin.port,
      cpus: cores.proxy,
      nginxInstalled: tools.nginx,
      baselineRoot: plan.baselineRoot,
      count: plan.instances,
      stopping,
    });
    if ("skipped" in started) {
      log(`  ${label} skipped: ${started.skipped}`);
      report.rows.push({ kind, label, skipped: started.skipped });
      continue;
    }
    running.push(started);
    report.rows.push({ kind, label });
  }
  try {
    log("bench: interleaved load");
    report.load = await measureInterleaved(
      group,
      running,
      plan,
      cores.load,
      log,
    );
    log("bench: stream lag");
    // Streams and big bodies: the first process of each proxy.
    const firsts = running.map(({ kind, instances }) => ({
      kind,
      ...instances[0],
    }));
    for (const target of firsts) {
      const row = report.rows.find((row) => row.kind === target.kind)!;
      row.addedStreamLagMs = await measureStreamLag(target.url, plan, direct)
        .catch((error) => {
          row.error ??= `stream: ${error.message}`;
          return undefined;
        });
    }
    log(`bench: big body, ${plan.bigBodyBytes} bytes`);
    const big = await measureBigBodies(group, firsts, plan, cores.load, log);
    for (const [kind, result] of big) {
      const row = report.rows.find((row) => row.kind === kind)!;
      if (typeof result === "string") row.error ??= `big body: ${result}`;
      else row.bigBody = result;
    }
  } finally {
    for (const process of stopping) await group.stop(process);
  }

  const gateway = report.rows.find((row) => row.kind === "gateway");
  if (gateway?.skipped) {
    report.multicore = [{
      label: "gateway",
      note: `not measured: ${gateway.skipped}`,
    }];
  } else if (gateway) {
    log("bench: multi-core");
    report.multicore = await measureMulticore(
      group,
      origin.port,
      plan,
      cores,
      cpuCount,
    );
  }

  if (plan.profile) {
    log("bench: profiling the gateway under load");
    const loadSeconds = plan.warmupSeconds + plan.loadSeconds;
    report.profile = await profileGateway(
      group,
      origin.port,
      plan,
      cores.proxy,
      cores.load,
      `${RESULTS_DIR}/gateway.cpuprofile`,
    ).then((summary) => ({ summary, loadSeconds }))
      .catch((error) => ({ skipped: error.message }));
  }
  if (plan.alloc) {
    log("bench: allocation per request");
    const table = await measureAllocation(group, origin.port, plan, cores)
      .then(renderAllocation)
      .catch((error) => `## Allocation per request\n\nSkipped: ${error}\n`);
    await Deno.writeTextFile(`${RESULTS_DIR}/alloc.md`, table);
    console.log(table);
  }
  report.meta.loadAverage.end = await loadAverage();
  return report;
}

/** The upstream-pool scenario (see pools.ts); written to bench-results/pools.md. */
async function runPools(group: ProcessGroup, plan: BenchPlan): Promise<void> {
  const tools = await ensureTools(log);
  const cores = coreLayout(navigator.hardwareConcurrency, tools.taskset);
  if (cores.load !== null) await pinSelf(cores.load);
  log("bench: upstream pools");
  const poolPlan = {
    warmupSeconds: plan.quick ? 1 : 3,
    seconds: plan.quick ? 3 : 8,
    connections: 20,
    proxyCpus: cores.proxy,
    loadCpus: cores.load,
    nginx: tools.nginx,
  };
  const table = renderPools(await measurePools(group, poolPlan, log), poolPlan);
  await Deno.writeTextFile(`${RESULTS_DIR}/pools.md`, table);
  console.log(table);
}

async function main(): Promise<number> {
  if (Deno.args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  if (Deno.args[0] === "websocket") {
    await runWebSocketBench();
    return 0;
  }
  let plan: BenchPlan;
  try {
    plan = parseBenchFlags(Deno.args);
  } catch (error) {
    log(`bench: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    return 2;
  }
  const group = new ProcessGroup();
  const stopOnSignal = () => {
    log("bench: interrupted, stopping every process it started");
    group.stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", stopOnSignal);
  Deno.addSignalListener("SIGTERM", stopOnSignal);
  try {
    await Deno.mkdir(RESULTS_DIR, { recursive: true });
    if (!plan.poolsOnly) {
      const report = await run(group, plan);
      await writeReport(report, RESULTS_DIR);
      console.log(renderMarkdown(report));
      log(`bench: written to ${RESULTS_DIR}/latest.md and latest.json`);
    }
    await runPools(group, plan);
    return 0;
  } catch (error) {
    log(`bench: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await group.stopAll();
    Deno.removeSignalListener("SIGINT", stopOnSignal);
    Deno.removeSignalListener("SIGTERM", stopOnSignal);
  }
}

Deno.exit(await main());

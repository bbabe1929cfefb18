/** The bench's results: one JSON-able shape, rendered as Markdown for stdout and the file. */
import type { ProfileSummary } from "./cpu_profile.ts";
import {
  pairedRatios,
  type ScenarioRun,
  type Spread,
  spread,
} from "./interleaved.ts";
import type { DirectBaseline, ProxyMeasurements } from "./measure.ts";
import type { ProxyKind } from "./proxies.ts";
import { median } from "./stream_lag.ts";
import type { WrkResult } from "./wrk.ts";

/** One proxy's line in the tables. */
export interface ProxyRow extends ProxyMeasurements {
  kind: ProxyKind;
  label: string;
  /** Why it was not measured (not installed, entry missing). */
  skipped?: string;
}

/** One line of the multi-core section. */
export interface MulticoreRow {
  label: string;
  load?: WrkResult;
  note?: string;
}

/** Everything one run measured. */
export interface BenchReport {
  meta: {
    date: string;
    deno: string;
    cpuModel: string;
    cpus: number;
    quick: boolean;
    pinning: string;
    /** 1-minute load average when the run started and ended: other work skews the numbers. */
    loadAverage: { start: number | null; end: number | null };
    load: string;
  };
  direct: DirectBaseline | null;
  rows: ProxyRow[];
  /** The interleaved load, one entry per scenario. */
  load: ScenarioRun[];
  multicore: MulticoreRow[] | null;
  profile: { summary: ProfileSummary; loadSeconds: number } | {
    skipped: string;
  } | null;
}

/** A target from issue 16, checked against the paired ratios. */
export interface TargetCheck {
  target: string;
  value: string;
  /** `null` when a number is missing. */
  met: boolean | null;
}

// deno-lint-ignore no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/** Text fit for one table cell: no colours, no backtrace, one line, no pipes, short. */
export function oneLine(text: string, maxChars = 160): string {
  const plain = text.replace(ANSI_COLOUR, "").split("Stack backtrace:")[0];
  const line = plain.replace(/\s+/g, " ").trim().replaceAll("|", "\\|");
  return line.length > maxChars ? line.slice(0, maxChars - 1) + "…" : line;
}

const fmt = (n: number, digits: number) =>
  n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
/** `+0.12` / `-0.30`: rounded first so that -0.001 shows as +0.00, not -0.00. */
const signed = (n: number) => {
  const rounded = Math.round(n * 100) / 100 || 0;
  return (rounded >= 0 ? "+" : "") + fmt(rounded, 2);
};
const ratio = (a?: number, b?: number) =>
  a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
const show = (n: number | undefined, digits: number, suffix = "") =>
  n === undefined ? "–" : fmt(n, digits) + suffix;

const rps = (w: WrkResult) => w.requestsPerSecond;
const p99 = (w: WrkResult) => w.p99Ms;
/** NaN when unknown: `pairedRatios` makes no pair of it. */
const cpuPerRequest = (w: WrkResult) => w.cpuUsPerRequest ?? NaN;

/** `0.71× [0.66–0.74]`: the median with the range over the pairs. */
function showSpread(value: Spread | undefined, digits = 2): string {
  if (value === undefined) return "–";
  if (value.n === 1) return `${fmt(value.median, digits)}×`;
  return `${fmt(value.median, digits)}× [${fmt(value.min, digits)}–${
    fmt(value.max, digits)
  }]`;
}

/** Per-cycle ratios of `kind` against `against` in one scenario. */
export function loadRatio(
  run: ScenarioRun,
  kind: ProxyKind,
  against: ProxyKind,
  pick: (w: WrkResult) => number,
): Spread | undefined {
  return spread(pairedRatios(run.slices[kind], run.slices[against], pick));
}

function bigBodyRatio(
  rows: ProxyRow[],
  kind: ProxyKind,
): Spread | undefined {
  const row = rows.find((r) => r.kind === kind)?.bigBody;
  const floor = rows.find((r) => r.kind === "floor")?.bigBody;
  if (!row || !floor) return undefined;
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(row.length, floor.length); i++) {
    ratios.push(row[i].megabytesPerSecond / floor[i].megabytesPerSecond);
  }
  return spread(ratios);
}

/** The largest RSS growth over the big-body rounds, MiB. */
function maxRssGrowth(row: ProxyRow): number | undefined {
  const growths = (row.bigBody ?? []).map((b) => b.rssGrowthMiB).filter((
    g,
  ): g is number => g !== null);
  return growths.length === 0 ? undefined : Math.max(...growths);
}

/** Checks the gateway against issue 16's targets (paired medians). */
export function checkTargets(report: BenchReport): TargetCheck[] {
  const [single, browser] = report.load;
  if (!single) return [];
  const check = (
    target: string,
    value: Spread | number | undefined,
    ok: (v: number) => boolean,
    unit = "×",
  ): TargetCheck => {
    const number = typeof value === "number" ? value : value?.median;
    return {
      target,
      value: typeof value === "number"
        ? `${fmt(value, 1)}${unit}`
        : showSpread(value),
      met: number === undefined ? null : ok(number),
    };
  };
  const gateway = report.rows.find((row) => row.kind === "gateway");
  return [
    check(
      "(the bench itself, A/A: a second floor ÷ the floor, 1 header, within 0.95–1.05×)",
      loadRatio(single, "control", "floor", rps),
      (v) => Math.abs(v - 1) <= 0.05,
    ),
    check(
      "1 header: req/s ≥ 0.65× floor",
      loadRatio(single, "gateway", "floor", rps),
      (v) => v >= 0.65,
    ),
    check(
      "1 header: req/s ≥ 0.9× Hono proxy()",
      loadRatio(single, "gateway", "hono", rps),
      (v) => v >= 0.9,
    ),
    check(
      "browser headers: req/s ahead of Hono proxy() (> 1×)",
      browser && loadRatio(browser, "gateway", "hono", rps),
      (v) => v > 1,
    ),
    check(
      "1 header: p99 ≤ 1.4× floor",
      loadRatio(single, "gateway", "floor", p99),
      (v) => v <= 1.4,
    ),
    check(
      "big body ≥ 0.9× floor MB/s",
      bigBodyRatio(report.rows, "gateway"),
      (v) => v >= 0.9,
    ),
    check(
      "big body RSS growth < 32 MiB",
      gateway && maxRssGrowth(gateway),
      (v) => v < 32,
      " MiB",
    ),
    check(
      "stream lag ≤ +2 ms vs direct",
      gateway?.addedStreamLagMs,
      (v) => v <= 2,
      " ms",
    ),
    check(
      "(CPU per request, floor ÷ gateway, 1 header: the same ratio, least disturbed by other work)",
      loadRatio(single, "floor", "gateway", cpuPerRequest),
      (v) => v >= 0.65,
    ),
    check(
      "long-term: 1 header req/s ≥ 0.85× floor",
      loadRatio(single, "gateway", "floor", rps),
      (v) => v >= 0.85,
    ),
  ];
}

function loadTable(report: BenchReport, run: ScenarioRun): string[] {
  const lines = [
    `### ${run.scenario.label}`,
    "",
    "| proxy | req/s | × floor | × Hono proxy() | p50 ms | p99 ms | p99 × floor | CPU µs/req | floor CPU ÷ this | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of report.rows) {
    const slices = (run.slices[row.kind] ?? []).filter(Boolean);
    const failed = run.failed[row.kind];
    if (row.skipped || slices.length === 0) {
      const why = row.skipped ?? failed ?? "not measured";
      lines.push(`| ${row.label} | ${oneLine(why)} |${" |".repeat(8)}`);
      continue;
    }
    const mid = (pick: (w: WrkResult) => number) => median(slices.map(pick));
    const cpu = slices.flatMap((w) =>
      w.cpuUsPerRequest === undefined ? [] : [w.cpuUsPerRequest]
    );
    lines.push(
      "| " + [
        row.label,
        fmt(mid(rps), 0),
        row.kind === "floor"
          ? "1.00×"
          : showSpread(loadRatio(run, row.kind, "floor", rps)),
        row.kind === "hono"
          ? "1.00×"
          : showSpread(loadRatio(run, row.kind, "hono", rps)),
        fmt(mid((w) => w.p50Ms), 2),
        fmt(mid(p99), 2),
        row.kind === "floor"
          ? "1.00×"
          : showSpread(loadRatio(run, row.kind, "floor", p99)),
        cpu.length === 0 ? "–" : fmt(median(cpu), 1),
        row.kind === "floor"
          ? "1.00×"
          : showSpread(loadRatio(run, "floor", row.kind, cpuPerRequest)),
        fmt(slices.reduce((sum, w) => sum + w.errors, 0), 0),
      ].join(" | ") + " |",
    );
  }
  return lines;
}

function streamTable(report: BenchReport): string[] {
  const lines = [
    "| proxy | stream lag vs direct | big body MB/s | × floor | max RSS growth MiB |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const row of report.rows) {
    if (row.skipped) continue;
    const lag = row.addedStreamLagMs;
    const mbs = row.bigBody?.map((b) => b.megabytesPerSecond) ?? [];
    const rss = maxRssGrowth(row);
    lines.push(
      "| " + [
        row.label,
        lag === undefined ? "–" : `${signed(lag)} ms`,
        mbs.length === 0 ? "–" : fmt(median(mbs), 0),
        row.kind === "floor"
          ? "1.00×"
          : showSpread(bigBodyRatio(report.rows, row.kind)),
        (rss === undefined ? "–" : fmt(rss, 1)) +
        (row.bigBody?.some((b) => !b.peakWasReset) ? " (peak not reset)" : ""),
      ].join(" | ") + " |",
    );
  }
  for (const row of report.rows) {
    if (row.error) {
      lines.push(
        "",
        `${row.label} failed:`,
        "",
        "```text",
        oneLine(row.error, 2000),
        "```",
      );
    }
  }
  return lines;
}

function multicoreSection(rows: MulticoreRow[]): string[] {
  const pinned = rows[0]?.load?.requestsPerSecond;
  const lines = [
    "## Multi-core",
    "",
    "| gateway | req/s | × pinned | p99 ms | note |",
    "| --- | ---: | ---: | ---: | --- |",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.label} | ${show(row.load?.requestsPerSecond, 0)} | ` +
        `${show(ratio(row.load?.requestsPerSecond, pinned), 2, "×")} | ` +
        `${show(row.load?.p99Ms, 2)} | ${oneLine(row.note ?? "")} |`,
    );
  }
  return lines;
}

function profileSection(
  profile: NonNullable<BenchReport["profile"]>,
): string[] {
  if ("skipped" in profile) {
    return [
      "## Gateway CPU profile",
      "",
      `Skipped: ${oneLine(profile.skipped, 2000)}`,
    ];
  }
  const { summary } = profile;
  const pct = (ms: number) => fmt((100 * ms) / summary.busyMs, 1) + "%";
  const costRows = (costs: ProfileSummary["own"]) =>
    costs.map((c) =>
      `| \`${c.name}\` | ${c.location} | ${fmt(c.selfMs, 0)} | ${
        pct(c.selfMs)
      } | ${fmt(c.totalMs, 0)} | ${pct(c.totalMs)} |`
    );
  const header = [
    "| function | where | self ms | self | total ms | total |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  ];
  return [
    "## Gateway CPU profile",
    "",
    `Under wrk load for ${profile.loadSeconds} s; busy (non-idle) time ${
      fmt(summary.busyMs, 0)
    } ms.`,
    "",
    "| where the self time goes | ms | share |",
    "| --- | ---: | ---: |",
    ...summary.buckets.map((b) =>
      `| ${b.bucket} | ${fmt(b.selfMs, 0)} | ${pct(b.selfMs)} |`
    ),
    "",
    "Top self time in the gateway's own code (src/):",
    "",
    ...header,
    ...costRows(summary.own),
    "",
    "Top inclusive time in src/ (self plus callees):",
    "",
    ...header,
    ...costRows(summary.ownByTotal),
    "",
    "Top self time overall:",
    "",
    ...header,
    ...costRows(summary.overall),
  ];
}

/** The whole report as Markdown. */
export function renderMarkdown(report: BenchReport): string {
  const { meta, direct } = report;
  const lines = [
    `# Gateway benchmark${meta.quick ? " (quick run)" : ""}`,
    "",
    `${meta.date} · Deno ${meta.deno} · ${meta.cpuModel} · ${meta.cpus} CPUs`,
    "",
    `Load: ${meta.load}. ${meta.pinning}`,
    `Machine load average (1 min): ${meta.loadAverage.start ?? "?"} at start, ${
      meta.loadAverage.end ?? "?"
    } at end${
      (meta.loadAverage.start ?? 0) > 0.5
        ? " — other work was running, so these numbers are noisy; rerun on an idle machine"
        : ""
    }.`,
    direct
      ? `Direct to the origin, no proxy (the harness's ceiling): ${
        fmt(direct.load.requestsPerSecond, 0)
      } req/s, p99 ${fmt(direct.load.p99Ms, 2)} ms; stream lag ${
        fmt(direct.streamLagMs, 2)
      } ms per chunk; big body ${fmt(direct.megabytesPerSecond, 0)} MB/s.`
      : "",
    "",
    "## Requests (interleaved, paired per cycle)",
    "",
    "Ratios are per cycle against the same cycle's floor or Hono slice: median [min–max].",
  ];
  for (const run of report.load) lines.push("", ...loadTable(report, run));
  lines.push("", "## Streams and big bodies", "", ...streamTable(report));
  const targets = checkTargets(report);
  if (targets.length > 0) {
    lines.push(
      "",
      "## Targets (issue 16)",
      "",
      "| target | gateway | met |",
      "| --- | ---: | --- |",
    );
    for (const t of targets) {
      lines.push(
        `| ${t.target} | ${t.value} | ${
          t.met === null ? "–" : t.met ? "yes" : "**no**"
        } |`,
      );
    }
  }
  if (report.multicore) lines.push("", ...multicoreSection(report.multicore));
  if (report.profile) lines.push("", ...profileSection(report.profile));
  return lines.join("\n") + "\n";
}

/** Writes `latest.md` and `latest.json` (with the target checks) into `dir`. */
export async function writeReport(
  report: BenchReport,
  dir: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/latest.md`, renderMarkdown(report));
  await Deno.writeTextFile(
    `${dir}/latest.json`,
    JSON.stringify({ ...report, targets: checkTargets(report) }, null, 2) +
      "\n",
  );
}

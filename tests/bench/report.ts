/** The bench's results: one JSON-able shape, rendered as Markdown for stdout and the file. */
import type { ProfileSummary } from "./cpu_profile.ts";
import type { DirectBaseline, ProxyMeasurements } from "./measure.ts";
import type { ProxyKind } from "./proxies.ts";
import type { WrkResult } from "./wrk.ts";

/** One proxy's line in the table. */
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
  multicore: MulticoreRow[] | null;
  profile: { summary: ProfileSummary; loadSeconds: number } | {
    skipped: string;
  } | null;
}

/** A target from issue 8, checked against the gateway and floor rows. */
export interface TargetCheck {
  target: string;
  value: string;
  /** `null` when either row lacks the number. */
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

/** Checks the gateway row against issue 8's targets relative to the floor. */
export function checkTargets(rows: ProxyRow[]): TargetCheck[] {
  const gateway = rows.find((row) => row.kind === "gateway");
  const floor = rows.find((row) => row.kind === "floor");
  if (!gateway || !floor || gateway.skipped || floor.skipped) return [];
  const rps = ratio(
    gateway.load?.requestsPerSecond,
    floor.load?.requestsPerSecond,
  );
  const p99 = ratio(gateway.load?.p99Ms, floor.load?.p99Ms);
  const lag = gateway.addedStreamLagMs;
  const throughput = ratio(
    gateway.bigBody?.megabytesPerSecond,
    floor.bigBody?.megabytesPerSecond,
  );
  const rss = gateway.bigBody?.rssGrowthMiB ?? undefined;
  const check = (value: number | undefined, ok: (v: number) => boolean) =>
    value === undefined ? null : ok(value);
  return [
    {
      target: "req/s ≥ 0.85× floor",
      value: show(rps, 2, "×"),
      met: check(rps, (v) => v >= 0.85),
    },
    {
      target: "p99 ≤ 1.2× floor",
      value: show(p99, 2, "×"),
      met: check(p99, (v) => v <= 1.2),
    },
    {
      target: "stream lag ≤ +2 ms vs direct",
      value: show(lag, 2, " ms"),
      met: check(lag, (v) => v <= 2),
    },
    {
      target: "big body ≥ 0.9× floor MB/s",
      value: show(throughput, 2, "×"),
      met: check(throughput, (v) => v >= 0.9),
    },
    {
      target: "RSS growth < 32 MiB",
      value: show(rss, 1, " MiB"),
      met: check(rss, (v) => v < 32),
    },
  ];
}

function proxyTable(report: BenchReport): string[] {
  const floor = report.rows.find((row) => row.kind === "floor");
  const lines = [
    "| proxy | req/s | × floor | p50 ms | p99 ms | p99 × floor | errors | stream lag vs direct | big body MB/s | × floor | RSS growth MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of report.rows) {
    if (row.skipped) {
      lines.push(
        `| ${row.label} | skipped: ${oneLine(row.skipped)} |${" |".repeat(9)}`,
      );
      continue;
    }
    const lag = row.addedStreamLagMs;
    lines.push(
      "| " + [
        row.label,
        show(row.load?.requestsPerSecond, 0),
        show(
          ratio(row.load?.requestsPerSecond, floor?.load?.requestsPerSecond),
          2,
          "×",
        ),
        show(row.load?.p50Ms, 2),
        show(row.load?.p99Ms, 2),
        show(ratio(row.load?.p99Ms, floor?.load?.p99Ms), 2, "×"),
        show(row.load?.errors, 0),
        lag === undefined ? "–" : `${signed(lag)} ms`,
        show(row.bigBody?.megabytesPerSecond, 0),
        show(
          ratio(
            row.bigBody?.megabytesPerSecond,
            floor?.bigBody?.megabytesPerSecond,
          ),
          2,
          "×",
        ),
        show(row.bigBody?.rssGrowthMiB ?? undefined, 1) +
        (row.bigBody && !row.bigBody.peakWasReset ? " (peak not reset)" : ""),
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
    ...proxyTable(report),
  ];
  const targets = checkTargets(report.rows);
  if (targets.length > 0) {
    lines.push(
      "",
      "## Targets (issue 8)",
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
    JSON.stringify({ ...report, targets: checkTargets(report.rows) }, null, 2) +
      "\n",
  );
}

/**
 * Pieces of the Prometheus text exposition format 0.0.4: escaping, label
 * sets and family headers. Label sets are rendered once, when a series is
 * created, so a scrape is only string joins.
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */

/** The `Content-Type` a scrape response carries. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/**
 * Escapes a label value: backslash, double quote and line feed are the only
 * characters the format reserves inside the quotes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLabelValue } from "./prometheus_text.ts";
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/** Escapes `# HELP` text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/**
 * Renders `name="value",...` (without braces) for label names and values in
 * the same order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLabels } from "./prometheus_text.ts";
 * assert.equal(formatLabels(["route", "status"], ["users", 200]), 'route="users",status="200"');
 * ```
 */
export function formatLabels(
  names: readonly string[],
  values: readonly (string | number)[],
): string {
  return names.map((name, i) =>
    `${name}="${escapeLabelValue(String(values[i]))}"`
  )
    .join(",");
}

/** A sample value as the format spells it (`+Inf`, `-Inf`, `NaN`). */
export function formatSampleValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** The `# HELP` and `# TYPE` lines that open a metric family. */
export function familyHeader(
  name: string,
  type: "counter" | "gauge" | "histogram",
  help: string,
): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** One sample line; `labels` is a pre-rendered label set, possibly empty. */
export function sampleLine(
  name: string,
  labels: string,
  value: number,
): string {
  return labels === ""
    ? `${name} ${formatSampleValue(value)}\n`
    : `${name}{${labels}} ${formatSampleValue(value)}\n`;
}

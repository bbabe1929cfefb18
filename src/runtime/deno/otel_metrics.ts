/**
 * The gateway's own metrics over OpenTelemetry, under Deno's built-in OTel
 * (`OTEL_DENO=true`; Deno 2.9 exports metrics made through
 * `@opentelemetry/api` over OTLP next to its own runtime and HTTP metrics).
 *
 * Counters and gauges are the Prometheus families, read at each export
 * (asynchronous instruments: nothing on the request path). Names are the
 * Prometheus ones with a counter's `_total` dropped (an OTLP-to-Prometheus
 * exporter adds it back), attributes are the labels. Histograms cannot be
 * read back from cumulative buckets, so request duration and time to first
 * byte are recorded per exchange from the access-log hook (only when OTel
 * is on), as `gateway_request_duration_seconds` and
 * `gateway_time_to_first_byte_seconds` with `route`, `method` and `status`.
 *
 * @module
 */

import { isInternalPath } from "../../endpoints/internal_path.ts";
import { type Attributes, metrics as otelMetrics } from "@opentelemetry/api";
import type { AccessLogEntry } from "../../observe/access_log.ts";
import { VERSION } from "../../version.ts";

/** One sample of a Prometheus text scrape. */
interface Sample {
  family: string;
  attributes: Attributes;
  value: number;
}

/**
 * Reads counter and gauge samples from Prometheus text (histogram and
 * unknown families are skipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readScrape } from "./otel_metrics.ts";
 * const text = '# HELP a_total A.\n# TYPE a_total counter\na_total{route="x",code="y\\"z"} 3\n';
 * assert.deepEqual(readScrape(text), {
 *   families: [{ name: "a_total", type: "counter", help: "A." }],
 *   samples: [{ family: "a_total", attributes: { route: "x", code: 'y"z' }, value: 3 }],
 * });
 * ```
 */
export function readScrape(text: string): {
  families: { name: string; type: "counter" | "gauge"; help: string }[];
  samples: Sample[];
} {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const header = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (header) {
      (header[1] === "TYPE" ? types : helps).set(header[2], header[3]);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) continue;
    const type = types.get(sample[1]);
    if (type !== "counter" && type !== "gauge") continue;
    const attributes: Attributes = {};
    for (
      const [, name, value] of (sample[2] ?? "").matchAll(
        /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
      )
    ) {
      attributes[name] = value.replace(
        /\\(.)/g,
        (_, c) => c === "n" ? "\n" : c,
      );
    }
    samples.push({ family: sample[1], attributes, value: Number(sample[3]) });
  }
  const families = [...types]
    .filter((entry): entry is [string, "counter" | "gauge"] =>
      entry[1] === "counter" || entry[1] === "gauge"
    )
    .map(([name, type]) => ({ name, type, help: helps.get(name) ?? "" }));
  return { families, samples };
}

/** What the Deno entry wires when `OTEL_DENO=true`. */
export interface OtelMetricsExport {
  /** The per-exchange hook (`GatewayOptions.onExchange`): duration and TTFB histograms. */
  recordExchange(entry: AccessLogEntry): void;
  /** Starts exporting the families of `scrape()` (the gateway's Prometheus text). */
  observe(scrape: () => string): void;
}

/** The exporter when Deno's OTel is on (`OTEL_DENO=true`), else `undefined`. */
export function otelMetricsExport(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): OtelMetricsExport | undefined {
  if (env("OTEL_DENO") !== "true") return undefined;
  const meter = otelMetrics.getMeter("edge-gateway", VERSION);
  const duration = meter.createHistogram("gateway_request_duration_seconds", {
    description: "Time from request to the end of the response.",
    unit: "s",
  });
  const firstByte = meter.createHistogram(
    "gateway_time_to_first_byte_seconds",
    {
      description: "Time from request to the first response body byte sent.",
      unit: "s",
    },
  );
  return {
    recordExchange(entry) {
      // The gateway's own endpoints are no traffic (as in Prometheus).
      if (entry.route === null && isInternalPath(entry.path)) return;
      const attributes = {
        route: entry.route ?? "",
        method: entry.method,
        status: entry.status,
      };
      duration.record(entry.durationMs / 1000, attributes);
      if (entry.ttfbMs !== null) {
        firstByte.record(entry.ttfbMs / 1000, attributes);
      }
    },
    observe(scrape) {
      const instruments = new Map(
        readScrape(scrape()).families.map(({ name, type, help }) => [
          name,
          type === "counter"
            ? meter.createObservableCounter(name.replace(/_total$/, ""), {
              description: help,
            })
            : meter.createObservableGauge(name, { description: help }),
        ]),
      );
      meter.addBatchObservableCallback((result) => {
        for (const sample of readScrape(scrape()).samples) {
          const instrument = instruments.get(sample.family);
          if (instrument !== undefined) {
            result.observe(instrument, sample.value, sample.attributes);
          }
        }
      }, [...instruments.values()]);
    },
  };
}

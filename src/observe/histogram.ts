import { formatSampleValue, sampleLine } from "./prometheus_text.ts";

/**
 * Request-duration bucket bounds in seconds: 5 ms up to 10 min, the same for
 * every route so dashboards may sum buckets across routes. Streams run long
 * (the shipped `llm` route allows 300 s); a route whose `totalMs` is longer
 * still gets one more bound at its `totalMs` (see `GatewayMetrics.declareRoute`).
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
];

/**
 * Checks histogram bucket bounds: finite and strictly increasing.
 * Throws a `RangeError` naming the bad value otherwise.
 */
export function validateBuckets(buckets: readonly number[]): void {
  if (buckets.length === 0) {
    throw new RangeError(
      "Cannot create histogram as buckets are empty: current value is []",
    );
  }
  buckets.forEach((bound, i) => {
    if (!Number.isFinite(bound) || (i > 0 && bound <= buckets[i - 1])) {
      throw new RangeError(
        `Cannot create histogram as buckets must be finite and strictly increasing: current value is [${
          buckets.join(", ")
        }]`,
      );
    }
  });
}

/**
 * One histogram series. Observations land in a single slot (the first bound
 * they fit under); the cumulative counts Prometheus expects are summed only
 * when rendering, so observing stays a short scan and two additions.
 */
export class Histogram {
  readonly #bounds: readonly number[];
  /** `le` label parts, rendered once: `route="x",le="0.005"`. */
  readonly #bucketLabels: readonly string[];
  readonly #labels: string;
  /** Per-slot counts; the last slot is `+Inf`. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /** `bounds` must already be validated with {@linkcode validateBuckets}. */
  constructor(labels: string, bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#labels = labels;
    const prefix = labels === "" ? "" : labels + ",";
    this.#bucketLabels = [...bounds, Infinity].map((bound) =>
      `${prefix}le="${formatSampleValue(bound)}"`
    );
    this.#counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let slot = 0;
    while (slot < bounds.length && value > bounds[slot]) slot++;
    this.#counts[slot]++;
    this.#sum += value;
    this.#count++;
  }

  /** The `_bucket` (cumulative), `_sum` and `_count` lines for `name`. */
  render(name: string): string {
    let out = "";
    let cumulative = 0;
    for (let slot = 0; slot < this.#counts.length; slot++) {
      cumulative += this.#counts[slot];
      out += sampleLine(`${name}_bucket`, this.#bucketLabels[slot], cumulative);
    }
    out += sampleLine(`${name}_sum`, this.#labels, this.#sum);
    out += sampleLine(`${name}_count`, this.#labels, this.#count);
    return out;
  }
}

import { formatLabels } from "./prometheus_text.ts";

/** One time series: its label set, rendered once, and its current value. */
export interface Series {
  /** The label set, rendered as Prometheus text (`{a="b"}`). */
  readonly labels: string;
  /** The current value. */
  value: number;
}

type Key = string | number;

/**
 * The series of one metric family, found by label values through nested
 * maps. Looking a series up costs one `Map.get` per label and allocates
 * nothing once the series exists (no key strings are concatenated); the
 * label set is rendered only when the series is first seen.
 *
 * Each family is used with one arity only ({@linkcode SeriesFamily.of1},
 * `of2` or `of3`, matching the number of label names).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeriesFamily } from "./series_family.ts";
 * const retries = new SeriesFamily(["route"]);
 * retries.of1("users").value++;
 * assert.deepEqual(retries.all()[0], { labels: 'route="users"', value: 1 });
 * ```
 */
export class SeriesFamily {
  readonly #labelNames: readonly string[];
  readonly #root = new Map<Key, unknown>();
  readonly #all: Series[] = [];

  constructor(labelNames: readonly string[]) {
    this.#labelNames = labelNames;
  }

  /** The series for one label value, created at 0 when new. */
  of1(a: Key): Series {
    const found = this.#root.get(a) as Series | undefined;
    return found ?? this.#create(this.#root, a, [a]);
  }

  /** The series for one label value if it was ever counted, without creating it. */
  find1(a: Key): Series | undefined {
    return this.#root.get(a) as Series | undefined;
  }

  /** The series for two label values, created at 0 when new. */
  of2(a: Key, b: Key): Series {
    const inner = this.#branch(this.#root, a);
    const found = inner.get(b) as Series | undefined;
    return found ?? this.#create(inner, b, [a, b]);
  }

  /** The series for three label values, created at 0 when new. */
  of3(a: Key, b: Key, c: Key): Series {
    const inner = this.#branch(this.#branch(this.#root, a), b);
    const found = inner.get(c) as Series | undefined;
    return found ?? this.#create(inner, c, [a, b, c]);
  }

  /** Every series, in the order they were first seen. */
  all(): readonly Series[] {
    return this.#all;
  }

  #branch(map: Map<Key, unknown>, key: Key): Map<Key, unknown> {
    let inner = map.get(key) as Map<Key, unknown> | undefined;
    if (inner === undefined) {
      inner = new Map();
      map.set(key, inner);
    }
    return inner;
  }

  #create(map: Map<Key, unknown>, key: Key, values: Key[]): Series {
    const series: Series = {
      labels: formatLabels(this.#labelNames, values),
      value: 0,
    };
    map.set(key, series);
    this.#all.push(series);
    return series;
  }
}

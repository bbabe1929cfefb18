/**
 * Reading how long an upstream asked us to wait before trying again.
 *
 * `Date.parse` accepts far more than HTTP-dates (`Date.parse("1")` is a date
 * in 2001), so each of the three HTTP-date forms (RFC 9110 §5.6.7) is matched
 * first and only then handed to `Date.parse`.
 */

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const RFC_850_DATE = new RegExp(
  `^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`,
);
/** `Sun Nov  6 08:49:37 1994` (obsolete; no zone, meaning GMT) */
const ASCTIME_DATE = new RegExp(
  `^${DAY} ${MONTH} (?: \\d|\\d{2}) ${TIME} \\d{4}$`,
);

const DELTA_SECONDS = /^\d+$/;
const MILLISECONDS = /^\d+(?:\.\d+)?$/;

/**
 * The delay in ms an upstream asked for, or `undefined` when it asked for
 * none or sent something unreadable.
 *
 * `retry-after-ms` (milliseconds, a de-facto header of several API vendors)
 * wins when readable; otherwise `retry-after` as delta-seconds or an
 * HTTP-date, measured from `nowMs` (a past date gives 0). Huge values
 * saturate at `Number.MAX_SAFE_INTEGER`: callers compare against their own
 * cap before waiting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRetryAfter } from "./retry_after.ts";
 *
 * assert.equal(parseRetryAfter(new Headers({ "retry-after": "2" }), 0), 2000);
 * assert.equal(parseRetryAfter(new Headers({ "retry-after": "soon" }), 0), undefined);
 * ```
 */
export function parseRetryAfter(
  headers: Headers,
  nowMs: number,
): number | undefined {
  const milliseconds = headers.get("retry-after-ms");
  if (milliseconds !== null && MILLISECONDS.test(milliseconds)) {
    return saturate(Number(milliseconds));
  }
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  if (DELTA_SECONDS.test(value)) return saturate(Number(value) * 1000);
  const dateMs = parseHttpDate(value);
  if (dateMs === undefined) return undefined;
  return Math.max(0, dateMs - nowMs);
}

function parseHttpDate(value: string): number | undefined {
  let dateMs = NaN;
  if (IMF_FIXDATE.test(value) || RFC_850_DATE.test(value)) {
    dateMs = Date.parse(value);
  } else if (ASCTIME_DATE.test(value)) {
    // Without a zone Date.parse would read local time; asctime means GMT.
    dateMs = Date.parse(`${value} GMT`);
  }
  return Number.isNaN(dateMs) ? undefined : dateMs;
}

function saturate(ms: number): number {
  return Math.min(ms, Number.MAX_SAFE_INTEGER);
}

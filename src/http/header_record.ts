/**
 * Headers as a plain object, one value per lower-case name: the form `fetch`
 * and `Response` take with the least work. Deno converts a record with half
 * the allocation of the same headers as name/value pairs (each pair is an
 * array it walks with the iterator protocol), and a gateway allocating less
 * per request spends less of it in the garbage collector.
 */
export type HeaderRecord = Record<string, string>;

/**
 * Sets `name` on a header record. `__proto__` is a valid header name that an
 * assignment would take as the object's prototype and drop wherever
 * `Object.prototype.__proto__` exists (workerd; Deno deletes it): it becomes an
 * own property like any other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HeaderRecord, setHeader } from "./header_record.ts";
 *
 * const headers: HeaderRecord = {};
 * setHeader(headers, "x-a", "1");
 * setHeader(headers, "__proto__", "2");
 * assert.deepEqual(Object.entries(headers), [["x-a", "1"], ["__proto__", "2"]]);
 * ```
 */
export function setHeader(
  headers: HeaderRecord,
  name: string,
  value: string,
): void {
  if (name === "__proto__") {
    Object.defineProperty(headers, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else headers[name] = value;
}

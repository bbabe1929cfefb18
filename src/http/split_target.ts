/**
 * Path and query of a request URL without a full URL parse (the hot path
 * needs both, and `Request.url` is already normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitTarget } from "./split_target.ts";
 * const { pathname, search } = splitTarget("http://h:1/a/b?x=1");
 * assert.equal(pathname, "/a/b");
 * assert.equal(search, "?x=1");
 * ```
 */
export function splitTarget(url: string): { pathname: string; search: string } {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const queryStart = url.indexOf("?", pathStart);
  return queryStart === -1 ? { pathname: url.slice(pathStart), search: "" } : {
    pathname: url.slice(pathStart, queryStart),
    search: url.slice(queryStart),
  };
}

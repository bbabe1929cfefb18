/**
 * The gateway's version, as in `deno.json` (a test keeps the two, the image
 * tag in the deploy material and the changelog in step). Reported by the
 * `gateway_build_info` metric.
 *
 * @module
 */

/** The gateway's version (semver). */
export const VERSION = "0.1.0";

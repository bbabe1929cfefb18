import {
  type ConfigResult,
  type EnvLookup,
  validateConfig,
} from "./validate_config.ts";

export type { ConfigResult, EnvLookup };

/**
 * Parses and validates config text (the contents of `gateway.json` or the
 * `GATEWAY_CONFIG` variable on Workers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./load_config.ts";
 * const result = parseConfig("{", () => undefined);
 * assert.ok(!result.ok);
 * assert.ok(result.errors[0].startsWith("(root): invalid JSON"));
 * ```
 */
export function parseConfig(text: string, env: EnvLookup): ConfigResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      errors: [`(root): invalid JSON: ${(error as Error).message}`],
    };
  }
  return validateConfig(raw, env);
}

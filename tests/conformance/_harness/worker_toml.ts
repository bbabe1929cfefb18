import { REPO_ROOT } from "../../_fixtures/child_process.ts";

// `wrangler.toml` texts for `startWranglerDev(config, { toml })`
// (wrangler_dev.ts).

/** The Worker entry every generated config points at. */
const ENTRY = `${REPO_ROOT}deploy/workers/worker.ts`;

/**
 * The shipped `wrangler.toml` (Durable Object class, bindings and migration
 * as deployed) under another Worker name, so that tests running side by side
 * never meet in a dev registry.
 */
export async function shippedToml(name: string): Promise<string> {
  const shipped = await Deno.readTextFile(`${REPO_ROOT}wrangler.toml`);
  return shipped
    .replace(/^name = ".*"$/m, `name = "${name}"`)
    .replace(/^main = ".*"$/m, `main = "${ENTRY}"`);
}

/**
 * A gateway Worker whose `GATEWAY_BREAKERS` is the Durable Object class of
 * the Worker `objectWorker` (another `wrangler dev`, found through the dev
 * registry): a second gateway on the same object.
 */
export async function objectClientToml(
  name: string,
  objectWorker: string,
): Promise<string> {
  return `${await compatibilityLines(name)}
[[durable_objects.bindings]]
name = "GATEWAY_BREAKERS"
class_name = "BreakerStateObject"
script_name = "${objectWorker}"
`;
}

/** A gateway Worker with `GATEWAY_KV` and no Durable Object binding. */
export async function kvOnlyToml(name: string): Promise<string> {
  return `${await compatibilityLines(name)}
[[kv_namespaces]]
binding = "GATEWAY_KV"
`;
}

/**
 * A gateway Worker with only the rate-limiting binding `GATEWAY_RATE_LIMITER`
 * (`simple` = its limit per period), for fleet rate limits.
 */
export async function rateLimitBindingToml(
  name: string,
  simple: { limit: number; period: 10 | 60 },
): Promise<string> {
  return `${await compatibilityLines(name)}
[[ratelimits]]
name = "GATEWAY_RATE_LIMITER"
namespace_id = "1001"
simple = { limit = ${simple.limit}, period = ${simple.period} }
`;
}

/** `name`, `main`, the compatibility date and flags of the shipped config. */
async function compatibilityLines(name: string): Promise<string> {
  const shipped = await Deno.readTextFile(`${REPO_ROOT}wrangler.toml`);
  const lines = shipped.split("\n").filter((line) =>
    /^compatibility_(date|flags) = /.test(line)
  );
  return [`name = "${name}"`, `main = "${ENTRY}"`, ...lines].join("\n") + "\n";
}

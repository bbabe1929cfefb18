import {
  killQuietly,
  REPO_ROOT,
  type ServerProcess,
  spawnCaptured,
  waitForExit,
} from "../../_fixtures/child_process.ts";
import { freePort } from "../../_fixtures/free_port.ts";

/** Start-up bound (the first run on a fresh clone installs wrangler). */
const START_TIMEOUT_MS = 180_000;
const PROBE_INTERVAL_MS = 250;

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

/** A running `wrangler dev` of a generated config. */
export interface TomlWorker extends ServerProcess {
  /** Names of the keys in its local `GATEWAY_KV` namespace. */
  kvKeys(): Promise<string[]>;
}

/**
 * Starts `wrangler dev -c <toml>` on 127.0.0.1 and a free port, with the
 * gateway `config` (JSON text) as `GATEWAY_CONFIG`, its local state in a
 * temp directory and Workers found through the dev registry in
 * `registryDir` (share one between Workers that bind each other); resolves
 * once `/_gateway/health/live` answers 200.
 *
 * @example
 * ```ts ignore
 * const worker = await startTomlWorker(await shippedToml("gw-a"), config, registryDir);
 * try { await fetch(`${worker.baseUrl}/_gateway/health/live`); }
 * finally { await worker.stop(); }
 * ```
 */
export async function startTomlWorker(
  toml: string,
  config: string,
  registryDir: string,
): Promise<TomlWorker> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-workerd-toml-" });
  const configPath = `${dir}/wrangler.toml`;
  await Deno.writeTextFile(configPath, toml);
  const env = {
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_REGISTRY_PATH: registryDir,
  };
  const port = freePort();
  const spawned = spawnCaptured("sh", [
    "deploy/workers/wrangler.sh",
    "dev",
    "--config",
    configPath,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(freePort()),
    "--persist-to",
    `${dir}/state`,
    "--var",
    `GATEWAY_CONFIG:${config}`,
  ], env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (timeoutMs = 15_000) => {
    killQuietly(spawned.child, "SIGTERM");
    try {
      return await waitForExit(spawned, timeoutMs);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
  try {
    await waitUntilLive(baseUrl, spawned.child);
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(
      `Cannot start wrangler dev: ${(error as Error).message}\n` +
        spawned.stdout.tail() + "\n" + spawned.stderr.tail(),
    );
  }
  return {
    baseUrl,
    port,
    stdout: spawned.stdout,
    stderr: spawned.stderr,
    stop,
    kvKeys: () => listLocalKvKeys(configPath, `${dir}/state`, env),
  };
}

/** `name`, `main`, the compatibility date and flags of the shipped config. */
async function compatibilityLines(name: string): Promise<string> {
  const shipped = await Deno.readTextFile(`${REPO_ROOT}wrangler.toml`);
  const lines = shipped.split("\n").filter((line) =>
    /^compatibility_(date|flags) = /.test(line)
  );
  return [`name = "${name}"`, `main = "${ENTRY}"`, ...lines].join("\n") + "\n";
}

async function listLocalKvKeys(
  configPath: string,
  persistTo: string,
  env: Record<string, string>,
): Promise<string[]> {
  const spawned = spawnCaptured("sh", [
    "deploy/workers/wrangler.sh",
    "kv",
    "key",
    "list",
    "--config",
    configPath,
    "--binding",
    "GATEWAY_KV",
    "--local",
    "--persist-to",
    persistTo,
  ], env);
  const status = await waitForExit(spawned, 60_000);
  const output = spawned.stdout.lines.join("\n");
  if (!status.success) {
    throw new Error(
      `Cannot list KV keys:\n${output}\n${spawned.stderr.tail()}`,
    );
  }
  // The JSON array follows wrangler's banner lines.
  const keys = JSON.parse(output.slice(output.indexOf("["))) as {
    name: string;
  }[];
  return keys.map((key) => key.name);
}

/** Probes liveness until 200, the process exits, or the start-up bound passes. */
async function waitUntilLive(
  baseUrl: string,
  child: Deno.ChildProcess,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + START_TIMEOUT_MS;
  const maxProbes = Math.ceil(START_TIMEOUT_MS / PROBE_INTERVAL_MS);
  for (let probe = 0; probe < maxProbes && Date.now() < deadline; probe++) {
    if (exited) throw new Error("wrangler exited before it served requests");
    try {
      const res = await fetch(`${baseUrl}/_gateway/health/live`, {
        signal: AbortSignal.timeout(2_000),
      });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  throw new Error(`not live within ${START_TIMEOUT_MS} ms`);
}

/**
 * `deno task start` (deploy/deno/main.ts) is production: without
 * `GATEWAY_CONFIG` it will not serve the shipped demo config (its upstreams
 * are the dev demo origin, which only `deno task dev` runs) nor start
 * without a config; either way it says what to set in one line and exits 1
 * before any port opens. `deno task dev` still runs the demo.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_fixtures/child_process.ts";

/** Runs main.ts in `cwd` with no GATEWAY_CONFIG in its environment. */
async function startWithoutConfig(
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];
  const env: Record<string, string> = { PORT: "0", HOSTNAME: "127.0.0.1" };
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `--config=${REPO_ROOT}deno.json`,
      `${REPO_ROOT}deploy/deno/main.ts`,
    ],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

Deno.test("start refuses the demo config without GATEWAY_CONFIG: one line, exit 1", async () => {
  const run = await startWithoutConfig(REPO_ROOT);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.deepEqual(run.stderr.trimEnd().split("\n"), [
    "gateway: cannot start: GATEWAY_CONFIG is not set and ./gateway.json is the demo config (every upstream is the dev demo origin http://127.0.0.1:8001): set GATEWAY_CONFIG=/path/to/your/gateway.json, or run `deno task dev` for the demo",
  ]);
});

Deno.test("start without GATEWAY_CONFIG and without ./gateway.json: one line, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "no-config-" });
  try {
    const run = await startWithoutConfig(dir);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stderr.trimEnd().split("\n"), [
      "gateway: cannot start: GATEWAY_CONFIG is not set and there is no ./gateway.json: set GATEWAY_CONFIG=/path/to/gateway.json (see docs/operations.md)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

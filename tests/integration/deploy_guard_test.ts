/**
 * `deno task deploy:workers` on a fresh clone must not ship the demo config
 * or a config whose secrets are missing: exercised with
 * `wrangler deploy --dry-run` (the task passes its arguments through).
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_fixtures/child_process.ts";

const PRODUCTION_CONFIG = JSON.stringify({
  admin: { tokenEnv: "PROD_ADMIN_TOKEN" },
  routes: [{
    name: "api",
    path: "/api/*",
    upstreams: ["https://api.example.com/v1"],
    auth: { apiKeysEnv: "PROD_API_KEYS" },
  }],
});

async function deployTask(
  args: string[],
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "deploy:workers", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", WRANGLER_SEND_METRICS: "false" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

async function bundleIn(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/worker.js`)).size > 0;
  } catch {
    return false;
  }
}

Deno.test("deploy:workers on a fresh clone refuses the demo config and says what to set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy-guard-" });
  try {
    for (const env of [[], ["--env", "production"]]) {
      const run = await deployTask(["--dry-run", "--outdir", dir, ...env]);
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, /refusing to deploy the demo config/);
      const section = env.length === 0 ? "[vars]" : "[env.production.vars]";
      assert.ok(run.output.includes(`wrangler.toml ${section}`), run.output);
      assert.match(run.output, /--var GATEWAY_CONFIG:/);
      assert.match(run.output, /secret put NAME/);
      assert.equal(await bundleIn(dir), false, "wrangler ran anyway");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy:workers with a real config but missing secrets refuses and names each one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy-guard-" });
  try {
    await Deno.writeTextFile(
      `${dir}/secrets.json`,
      JSON.stringify({ PROD_API_KEYS: "key-1,key-2" }),
    );
    const run = await deployTask([
      "--dry-run",
      "--outdir",
      dir,
      "--env",
      "production",
      "--var",
      `GATEWAY_CONFIG:${PRODUCTION_CONFIG}`,
      "--secrets-file",
      `${dir}/secrets.json`,
    ]);
    assert.equal(run.code, 1, run.output);
    assert.deepEqual(
      run.output.trim().split("\n").slice(0, 4),
      [
        "deploy:workers: refusing to deploy, the config is invalid:",
        "  admin.tokenEnv: environment variable PROD_ADMIN_TOKEN is not set",
        "Set each missing secret before deploying:",
        "  sh deploy/workers/wrangler.sh secret put PROD_ADMIN_TOKEN --env production",
      ],
    );
    assert.equal(await bundleIn(dir), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy:workers with a real config and its secrets runs wrangler deploy (--dry-run)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy-guard-" });
  try {
    await Deno.writeTextFile(
      `${dir}/secrets.json`,
      JSON.stringify({
        PROD_ADMIN_TOKEN: "0123456789abcdef0123",
        PROD_API_KEYS: "key-1,key-2",
      }),
    );
    const run = await deployTask([
      "--dry-run",
      "--outdir",
      `${dir}/out`,
      "--var",
      `GATEWAY_CONFIG:${PRODUCTION_CONFIG}`,
      "--secrets-file",
      `${dir}/secrets.json`,
    ]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /--dry-run: exiting now/);
    assert.equal(await bundleIn(`${dir}/out`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

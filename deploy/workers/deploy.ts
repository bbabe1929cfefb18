/**
 * `deno task deploy:workers [wrangler deploy args]`: `wrangler deploy`, but
 * only once the Worker has a real config and its secrets (see
 * deploy_guard.ts); otherwise it says what to set, and how, and exits 1.
 * A fresh clone cannot quietly ship the demo config.
 *
 * @module
 */
import bundledConfig from "../../gateway.json" with { type: "json" };
import {
  deployProblems,
  readDeployArgs,
  secretNamesIn,
  tomlVars,
} from "./deploy_guard.ts";

const root = new URL("../../", import.meta.url).pathname;
const args = readDeployArgs(Deno.args);
const secrets = new Set<string>();
if (args.secretsFile !== null) {
  for (const name of secretNamesIn(await Deno.readTextFile(args.secretsFile))) {
    secrets.add(name);
  }
}
if (!args.dryRun) {
  for (const name of await workerSecretNames(args.env)) secrets.add(name);
}
const problems = deployProblems({
  args,
  tomlVars: tomlVars(await Deno.readTextFile(`${root}wrangler.toml`), args.env),
  bundledConfig: JSON.stringify(bundledConfig),
  secrets,
});
if (problems.length > 0) {
  for (const line of problems) console.error(line);
  Deno.exit(1);
}
const { code } = await new Deno.Command("sh", {
  args: ["deploy/workers/wrangler.sh", "deploy", ...Deno.args],
  cwd: root,
}).spawn().status;
Deno.exit(code);

/** The secrets already set on the deployed Worker; none when it cannot be asked (not yet deployed, not logged in). */
async function workerSecretNames(env: string | null): Promise<string[]> {
  const { success, stdout } = await new Deno.Command("sh", {
    args: [
      "deploy/workers/wrangler.sh",
      "secret",
      "list",
      "--format",
      "json",
      ...(env === null ? [] : ["--env", env]),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) return [];
  try {
    const listed = JSON.parse(new TextDecoder().decode(stdout));
    return Array.isArray(listed)
      ? listed.map((secret) => String(secret.name))
      : [];
  } catch {
    return [];
  }
}

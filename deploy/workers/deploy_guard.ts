/**
 * What `deno task deploy:workers` checks before it runs `wrangler deploy`:
 * the config that would be deployed (`--var GATEWAY_CONFIG:…`, else the
 * `GATEWAY_CONFIG` of wrangler.toml's `[vars]` or `[env.<name>.vars]`, else
 * the bundled gateway.json) must not be the demo's and must validate, every
 * variable it names (`tokenEnv`, `apiKeysEnv`, `secretEnv`) being a var or a
 * secret (`--secrets-file`, or already on the Worker).
 *
 * @module
 */

import { isDemoConfig } from "../../src/config/demo_config.ts";
import { parseConfig } from "../../src/config/load_config.ts";

/** The parts of `wrangler deploy` arguments the guard reads. */
export interface DeployArgs {
  env: string | null;
  vars: Record<string, string>;
  secretsFile: string | null;
  dryRun: boolean;
}

/**
 * Reads `--env`/`-e`, `--var K:V…`, `--secrets-file` and `--dry-run` from
 * wrangler deploy arguments (both `--flag value` and `--flag=value`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readDeployArgs } from "./deploy_guard.ts";
 * assert.deepEqual(
 *   readDeployArgs(["--env", "production", "--var", "A:1", "B:x:y", "--dry-run"]),
 *   { env: "production", vars: { A: "1", B: "x:y" }, secretsFile: null, dryRun: true },
 * );
 * ```
 */
export function readDeployArgs(args: readonly string[]): DeployArgs {
  const parsed: DeployArgs = {
    env: null,
    vars: {},
    secretsFile: null,
    dryRun: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = splitFlag(args[i]);
    const value = () => inline ?? args[++i] ?? "";
    if (flag === "--env" || flag === "-e") parsed.env = value();
    else if (flag === "--secrets-file") parsed.secretsFile = value();
    else if (flag === "--dry-run") parsed.dryRun = inline !== "false";
    else if (flag === "--var") {
      const pairs = inline !== undefined ? [inline] : [];
      while (
        inline === undefined && i + 1 < args.length &&
        !args[i + 1].startsWith("-")
      ) {
        pairs.push(args[++i]);
      }
      for (const pair of pairs) {
        const colon = pair.indexOf(":");
        if (colon > 0) {
          parsed.vars[pair.slice(0, colon)] = pair.slice(colon + 1);
        }
      }
    }
  }
  return parsed;
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf("=");
  return arg.startsWith("--") && eq > 0
    ? [arg.slice(0, eq), arg.slice(eq + 1)]
    : [arg, undefined];
}

/**
 * The string variables of wrangler.toml's `[vars]` (no env) or
 * `[env.<env>.vars]`: `KEY = "…"`, `'…'`, `"""…"""` or `'''…'''`. Other
 * value forms are left out (the config check then says what is missing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tomlVars } from "./deploy_guard.ts";
 * const toml = `[vars]\nA = "1"\n[env.production.vars]\nGATEWAY_CONFIG = '''\n{"routes": []}\n'''\nB = "q\\"x"\n`;
 * assert.deepEqual(tomlVars(toml, null), { A: "1" });
 * assert.deepEqual(tomlVars(toml, "production"), { GATEWAY_CONFIG: '{"routes": []}\n', B: 'q"x' });
 * ```
 */
export function tomlVars(
  text: string,
  env: string | null,
): Record<string, string> {
  const wanted = env === null ? "vars" : `env.${env}.vars`;
  const vars: Record<string, string> = {};
  let inSection = false;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      inSection = header[1] === wanted;
      continue;
    }
    const entry = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line);
    if (!inSection || entry === null) continue;
    const [, key, rest] = entry;
    const quote = ["'''", '"""', "'", '"'].find((q) => rest.startsWith(q));
    if (quote === undefined) continue;
    // A multi-line string's first newline is not part of it (TOML).
    let body = rest.slice(quote.length);
    if (quote.length === 3 && body === "") body = lines[++i] ?? "";
    let value = body;
    while (
      !value.includes(quote) && i + 1 < lines.length && quote.length === 3
    ) {
      value += "\n" + lines[++i];
    }
    const end = quote.length === 1
      ? closingQuote(value, quote)
      : value.indexOf(quote);
    if (end < 0) continue;
    const raw = value.slice(0, end);
    vars[key] = quote.startsWith('"') ? unescapeBasic(raw) : raw;
  }
  return vars;
}

function closingQuote(text: string, quote: string): number {
  for (let i = 0; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

function unescapeBasic(text: string): string {
  return text.replace(
    /\\(u[0-9a-fA-F]{4}|["\\bfnrt])/g,
    (_, c: string) =>
      c.length > 1
        ? String.fromCharCode(parseInt(c.slice(1), 16))
        : ({ b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" } as Record<
          string,
          string
        >)[c] ?? c,
  );
}

/** Where the config to deploy comes from, for messages. */
export interface DeployPlan {
  args: DeployArgs;
  /** wrangler.toml's variables for the environment. */
  tomlVars: Record<string, string>;
  /** The bundled gateway.json text. */
  bundledConfig: string;
  /** Secret names known to be set (secrets file, the Worker's own). */
  secrets: ReadonlySet<string>;
}

/**
 * Every reason not to deploy, as lines for the terminal; empty: go ahead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deployProblems } from "./deploy_guard.ts";
 * const demo = JSON.stringify({ routes: [{ name: "d", path: "/d/*", upstreams: ["http://127.0.0.1:8001"] }] });
 * const lines = deployProblems({
 *   args: { env: null, vars: {}, secretsFile: null, dryRun: true },
 *   tomlVars: { GATEWAY_CONFIG: "" },
 *   bundledConfig: demo,
 *   secrets: new Set(),
 * });
 * assert.match(lines[0], /the demo config/);
 * ```
 */
export function deployProblems(plan: DeployPlan): string[] {
  const { args } = plan;
  const envFlag = args.env === null ? "" : ` --env ${args.env}`;
  const section = args.env === null ? "[vars]" : `[env.${args.env}.vars]`;
  const configText = args.vars.GATEWAY_CONFIG || plan.tomlVars.GATEWAY_CONFIG ||
    plan.bundledConfig;
  if (isDemoConfig(configText)) {
    return [
      "deploy:workers: refusing to deploy the demo config.",
      `GATEWAY_CONFIG is empty in wrangler.toml ${section}, so the bundled gateway.json would ship: its upstreams are the dev demo origin (127.0.0.1:8001), so every request would fail.`,
      "Give the Worker your config (JSON text) in one of these ways:",
      `  wrangler.toml ${section}:  GATEWAY_CONFIG = '''{ "routes": [ … ] }'''`,
      `  deno task deploy:workers${envFlag} --var GATEWAY_CONFIG:"$(cat my-gateway.json)"`,
      "and the secrets it names (admin.tokenEnv, metrics.tokenEnv, auth.apiKeysEnv, jwt.secretEnv):",
      `  sh deploy/workers/wrangler.sh secret put NAME${envFlag}   (or --secrets-file secrets.json)`,
      "See docs/operations.md (First deploy on Workers).",
    ];
  }
  const vars = { ...plan.tomlVars, ...args.vars };
  const missing: string[] = [];
  const result = parseConfig(configText, (name) => {
    if (typeof vars[name] === "string" && vars[name] !== "") return vars[name];
    // A secret's value is not known here; a stand-in passes length checks.
    if (plan.secrets.has(name)) return "secret-set-on-the-worker-00000000";
    missing.push(name);
    return undefined;
  });
  if (result.ok) return [];
  const lines = [
    "deploy:workers: refusing to deploy, the config is invalid:",
    ...result.errors.map((error) => `  ${error}`),
  ];
  if (missing.length > 0) {
    lines.push(
      "Set each missing secret before deploying:",
      ...missing.map((name) =>
        `  sh deploy/workers/wrangler.sh secret put ${name}${envFlag}`
      ),
      "or pass them with --secrets-file secrets.json" +
        (args.dryRun ? " (a dry run cannot see the Worker's secrets)." : "."),
    );
  }
  return lines;
}

/** Secret names in a `--secrets-file` (JSON object or .env lines). */
export function secretNamesIn(text: string): string[] {
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") {
      return Object.keys(parsed);
    }
  } catch {
    // not JSON: .env format
  }
  return text.split("\n")
    .map((line) =>
      /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1]
    )
    .filter((name): name is string => name !== undefined);
}

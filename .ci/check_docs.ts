/**
 * The doc-example rule (std's `check_docs`): every runnable `ts`/`js` block
 * in a JSDoc comment (or a docs/ page) must assert with `node:assert/strict`,
 * or say `no-assert` after its language when it deliberately asserts nothing.
 * `console.assert` only logs, so it never counts. `ignore` blocks are not
 * run and not checked.
 *
 *   deno run --allow-read .ci/check_docs.ts      # lists offenders, exit 1 if any
 *
 * tests/unit/doc_examples_test.ts runs the same check inside `deno task test`.
 *
 * @module
 */

/** One example that breaks the rule. */
export interface BadExample {
  /** `path:line` of the block's opening fence. */
  where: string;
  why: string;
}

const RUNNABLE = new Set([
  "ts",
  "js",
  "tsx",
  "jsx",
  "typescript",
  "javascript",
]);
const FENCE = /^```(\S*)(.*)$/;

/** Checks every code block of one file's text (`.ts` JSDoc or `.md`). */
export function checkText(path: string, text: string): BadExample[] {
  const bad: BadExample[] = [];
  const lines = path.endsWith(".md") ? text.split("\n") : jsdocLines(text);
  let open:
    | { line: number; lang: string; attrs: string[]; body: string[] }
    | undefined;
  for (const [number, line] of lines.entries()) {
    const fence = FENCE.exec(line.trim());
    if (open === undefined) {
      if (fence) {
        open = {
          line: number + 1,
          lang: fence[1],
          attrs: fence[2].trim().split(/\s+/),
          body: [],
        };
      }
      continue;
    }
    if (line.trim() !== "```") {
      open.body.push(line);
      continue;
    }
    const why = breaksRule(open.lang, open.attrs, open.body.join("\n"));
    if (why) bad.push({ where: `${path}:${open.line}`, why });
    open = undefined;
  }
  return bad;
}

function breaksRule(
  lang: string,
  attrs: string[],
  body: string,
): string | undefined {
  if (!RUNNABLE.has(lang) || attrs.includes("ignore")) return undefined;
  if (/\bconsole\.assert\b/.test(body)) {
    return "uses console.assert, which only logs; use node:assert/strict";
  }
  if (attrs.includes("no-assert")) return undefined;
  const imports = /from\s+["']node:assert\/strict["']/.test(body);
  const calls = /\bassert(\.\w+)?\s*\(/.test(body);
  if (!imports || !calls) {
    return "asserts nothing: assert with node:assert/strict or mark it no-assert";
  }
  return undefined;
}

/**
 * The lines of a source file as JSDoc shows them (leading `*` removed), with
 * every line outside a `/** … *\/` comment blanked so line numbers still
 * match the file.
 */
function jsdocLines(text: string): string[] {
  let inDoc = false;
  return text.split("\n").map((line) => {
    const trimmed = line.trim();
    if (!inDoc && trimmed.startsWith("/**")) {
      inDoc = !trimmed.includes("*/");
      return "";
    }
    if (!inDoc) return "";
    if (trimmed.startsWith("*/") || trimmed.endsWith("*/")) {
      inDoc = false;
      return "";
    }
    return trimmed.replace(/^\* ?/, "");
  });
}

/** Every `.ts` and `.md` file under `dirs` (relative to `root`), skipping node_modules. */
export async function checkTree(
  root: URL,
  dirs: readonly string[],
): Promise<BadExample[]> {
  const bad: BadExample[] = [];
  for (const dir of dirs) {
    for await (const path of walk(new URL(dir, root), dir)) {
      bad.push(
        ...checkText(path, await Deno.readTextFile(new URL(path, root))),
      );
    }
  }
  return bad;
}

async function* walk(url: URL, path: string): AsyncGenerator<string> {
  if (/\.(ts|md)$/.test(path)) {
    yield path;
    return;
  }
  const entries = [];
  for await (const entry of Deno.readDir(url)) entries.push(entry);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) {
      yield* walk(new URL(`${entry.name}/`, `${url}/`), child);
    } else if (entry.isFile && /\.(ts|md)$/.test(entry.name)) yield child;
  }
}

/** What the check covers: the library, its runtime entries, the docs. */
export const CHECKED = [
  "mod.ts",
  "src",
  "deploy",
  "docs",
  "README.md",
] as const;

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const bad = await checkTree(root, CHECKED);
  for (const example of bad) console.log(`${example.where}: ${example.why}`);
  console.log(`${bad.length} doc example(s) break the rule`);
  if (bad.length > 0) Deno.exit(1);
}

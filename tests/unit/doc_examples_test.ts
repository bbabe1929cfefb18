import assert from "node:assert/strict";
import { CHECKED, checkText, checkTree } from "../../.ci/check_docs.ts";

Deno.test("doc examples: every runnable example in mod.ts, src/, deploy/ and docs/ asserts or says no-assert", async () => {
  const bad = await checkTree(new URL("../../", import.meta.url), CHECKED);
  assert.deepEqual(
    bad.map((example) => `${example.where}: ${example.why}`),
    [],
  );
});

Deno.test("doc examples: the rule tells asserting examples from the rest", () => {
  const jsdoc = (block: string) =>
    `/**\n * Doc.\n *\n * @example\n${
      block.split("\n").map((line) => ` * ${line}`).join("\n")
    }\n */\nexport const x = 1;\n`;
  const asserting =
    '```ts\nimport assert from "node:assert/strict";\nassert.equal(1, 1);\n```';
  assert.deepEqual(checkText("a.ts", jsdoc(asserting)), []);
  assert.deepEqual(
    checkText("a.ts", jsdoc("```ts no-assert\nrun();\n```")),
    [],
  );
  assert.deepEqual(checkText("a.ts", jsdoc("```ts ignore\nrun();\n```")), []);
  assert.deepEqual(checkText("a.ts", jsdoc("```sh\ndeno task dev\n```")), []);
  assert.deepEqual(checkText("a.ts", jsdoc("```ts\nf(); // true\n```")), [{
    where: "a.ts:5",
    why: "asserts nothing: assert with node:assert/strict or mark it no-assert",
  }]);
  assert.equal(
    checkText("a.ts", jsdoc("```ts\nconsole.assert(f());\n```"))[0].why,
    "uses console.assert, which only logs; use node:assert/strict",
  );
  // Outside a JSDoc comment a fence is not an example.
  assert.deepEqual(checkText("a.ts", "// ```ts\n// f();\n// ```\n"), []);
  assert.equal(checkText("a.md", "# T\n\n```ts\nf();\n```\n").length, 1);
});

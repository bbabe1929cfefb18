import assert from "node:assert/strict";
import { ProcessGroup, readListeningPort } from "./processes.ts";

function denoEval(group: ProcessGroup, name: string, code: string) {
  return group.spawn(name, Deno.execPath(), ["eval", code], { cpus: null });
}

Deno.test("readListeningPort skips other output and finds the listening line", async () => {
  const group = new ProcessGroup();
  try {
    const child = denoEval(
      group,
      "talker",
      `console.log("starting"); console.log("{not json");
       console.log(JSON.stringify({ msg: "listening", port: 4321 }));
       for (let i = 0; i < 1000; i++) console.log("log line " + i);
       await new Promise(() => setTimeout(() => {}, 60_000));`,
    );
    assert.equal(await readListeningPort(child, 10_000), 4321);
    const status = await group.stop(child);
    assert.equal(status.success, false); // ended by SIGTERM
  } finally {
    await group.stopAll();
  }
});

Deno.test("readListeningPort reports a child that exits first, with its stderr", async () => {
  const group = new ProcessGroup();
  try {
    const child = denoEval(
      group,
      "crasher",
      `console.error("config.routes: missing"); Deno.exit(3);`,
    );
    await assert.rejects(
      readListeningPort(child, 10_000),
      /crasher exited before listening:\nconfig.routes: missing/,
    );
    assert.equal((await child.exited).code, 3);
  } finally {
    await group.stopAll();
  }
});

Deno.test("collect returns a finished command's output; after stopAll nothing starts", async () => {
  const group = new ProcessGroup();
  try {
    const { success, stdout } = await group.collect(
      "printer",
      Deno.execPath(),
      ["eval", `console.log("a"); console.log("b");`],
      { cpus: null },
    );
    assert.equal(success, true);
    assert.equal(stdout, "a\nb");
    const sleeper = denoEval(group, "sleeper", `setTimeout(() => {}, 60_000);`);
    await group.stopAll();
    assert.equal(sleeper.hasExited(), true);
    assert.throws(() => denoEval(group, "late", ""), /bench is stopping/);
  } finally {
    await group.stopAll();
  }
});

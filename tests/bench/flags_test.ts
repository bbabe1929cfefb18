import assert from "node:assert/strict";
import { parseBenchFlags } from "./flags.ts";

Deno.test("parseBenchFlags defaults to every proxy and the full durations", () => {
  const plan = parseBenchFlags([]);
  assert.deepEqual(plan.proxies, [
    "floor",
    "control",
    "hono",
    "duties",
    "gateway",
    "pool",
    "nginx",
  ]);
  assert.equal(plan.baselineRoot, null);
  assert.equal(plan.cycles, 8);
  assert.equal(plan.instances, 2);
  assert.equal(plan.rewarmSeconds, 1);
  assert.equal(plan.cycles % plan.instances, 0, "every instance as often");
  assert.equal(plan.sliceSeconds, 3);
  assert.equal(plan.bigBodyBytes, 2 ** 30);
  assert.equal(plan.profile, false);
  assert.equal(plan.alloc, false);
  assert.equal(parseBenchFlags(["--alloc"]).alloc, true);
});

Deno.test("parseBenchFlags --quick --only keeps table order and shortens the run", () => {
  const plan = parseBenchFlags(["--quick", "--only", "gateway,floor"]);
  assert.deepEqual(plan.proxies, ["floor", "gateway"]);
  assert.ok(plan.cycles < 8);
  assert.equal(plan.instances, 1);
  assert.equal(plan.rewarmSeconds, 0);
  assert.ok(plan.bigBodyBytes < 2 ** 30);
  assert.deepEqual(parseBenchFlags(["--only=nginx"]).proxies, ["nginx"]);
});

Deno.test("parseBenchFlags --baseline adds the before row", () => {
  const plan = parseBenchFlags(["--baseline", "/tmp/before"]);
  assert.equal(plan.baselineRoot, "/tmp/before");
  assert.ok(plan.proxies.includes("baseline"));
  assert.throws(() => parseBenchFlags(["--baseline"]), /names no directory/);
});

Deno.test("parseBenchFlags names what it cannot read", () => {
  assert.throws(() => parseBenchFlags(["--fast"]), /Cannot read flag "--fast"/);
  assert.throws(() => parseBenchFlags(["--only", "envoy"]), /names envoy/);
  assert.throws(() => parseBenchFlags(["--only"]), /names nothing/);
});

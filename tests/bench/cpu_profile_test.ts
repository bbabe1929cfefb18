import assert from "node:assert/strict";
import { type CpuProfile, summarizeProfile } from "./cpu_profile.ts";

const ROOT = "file:///repo/";

function frame(functionName: string, url: string, lineNumber = 0) {
  return { functionName, url, lineNumber };
}

// root → handle (src) → route (src) → handle (src, recursion) → Headers (runtime)
//      → (idle), (garbage collector)
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)", ""), children: [2, 6, 7] },
    {
      id: 2,
      callFrame: frame("handle", `${ROOT}src/app.ts`, 9),
      children: [3],
    },
    {
      id: 3,
      callFrame: frame("route", `${ROOT}src/pipeline/match_route.ts`, 4),
      children: [4],
    },
    {
      id: 4,
      callFrame: frame("handle", `${ROOT}src/app.ts`, 9),
      children: [5],
    },
    { id: 5, callFrame: frame("Headers", "ext:deno_fetch/20_headers.js", 0) },
    { id: 6, callFrame: frame("(idle)", "") },
    { id: 7, callFrame: frame("(garbage collector)", "") },
  ],
  startTime: 0,
  endTime: 10_000, // µs: 10 samples of 1 ms
  samples: [2, 3, 3, 3, 4, 5, 5, 6, 6, 7],
};

Deno.test("summarizeProfile splits self time by function and by where the code lives", () => {
  const summary = summarizeProfile(PROFILE, ROOT);
  assert.equal(summary.busyMs, 8);
  assert.deepEqual(summary.buckets, [
    { bucket: "gateway src/", selfMs: 5 },
    { bucket: "Deno runtime (JS)", selfMs: 2 },
    { bucket: "(garbage collector)", selfMs: 1 },
  ]);
  assert.deepEqual(summary.own, [
    {
      name: "route",
      location: "src/pipeline/match_route.ts:5",
      selfMs: 3,
      totalMs: 6,
    },
    { name: "handle", location: "src/app.ts:10", selfMs: 2, totalMs: 7 },
  ]);
});

Deno.test("summarizeProfile counts a recursive function's time once in its total", () => {
  const handle = summarizeProfile(PROFILE, ROOT).overall.find((c) =>
    c.name === "handle"
  );
  assert.equal(handle?.totalMs, 7);
});

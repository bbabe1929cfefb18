/**
 * The `deno serve` entry (deploy/deno/serve.ts) under `--parallel`: two
 * workers answer routed requests, and a breaker forced open through one of
 * them stops requests in both, through the one Deno KV file they share.
 *
 * Which worker answered is told by `/_gateway/metrics`, which each worker
 * keeps for itself: every worker's request counters differ.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import {
  killQuietly,
  REPO_ROOT,
  spawnCaptured,
  waitForExit,
} from "../_fixtures/child_process.ts";

const ADMIN_TOKEN = "serve-entry-test-admin-token";

/** One request on a connection of its own, so the kernel picks a worker each time. */
async function freshFetch(url: string, init: RequestInit = {}) {
  using client = Deno.createHttpClient({});
  const response = await fetch(url, { ...init, client });
  return { status: response.status, text: await response.text() };
}

/** This worker's `gateway_requests_total` of route `api`, by status. */
function apiCounts(metrics: string): string {
  const counts = [...metrics.matchAll(
    /^gateway_requests_total\{route="api",method="GET",status="(\d+)"\} (\d+)$/gm,
  )].map(([, status, count]) => `${status}:${count}`);
  return counts.sort().join(" ");
}

Deno.test("deno serve --parallel: two workers answer and share breaker state through Deno KV", async () => {
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "gateway-serve-" });
  const configPath = `${dir}/gateway.json`;
  const upstream = `${origin.url}/echo`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      admin: { token: ADMIN_TOKEN },
      routes: [{
        name: "api",
        path: "/api/*",
        upstreams: [upstream],
        stripPrefix: "/api",
      }],
    }),
  );
  const spawned = spawnCaptured(Deno.execPath(), [
    "serve",
    "--parallel",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    `${REPO_ROOT}deploy/deno/serve.ts`,
  ], {
    GATEWAY_CONFIG: configPath,
    GATEWAY_KV_PATH: `${dir}/gateway.kv`,
    DENO_JOBS: "2",
    NO_COLOR: "1",
  });
  try {
    const listening = (line: string) => {
      const match = /Listening on https?:\/\/[^:]+:(\d+)\//.exec(line);
      return match ? Number(match[1]) : undefined;
    };
    const port = await Promise.race([
      spawned.stdout.waitFor(listening, 30_000),
      spawned.stderr.waitFor(listening, 30_000),
    ]);
    const base = `http://127.0.0.1:${port}`;

    for (let i = 0; i < 20; i++) {
      const { status, text } = await freshFetch(`${base}/api/x?i=${i}`);
      assert.equal(status, 200);
      assert.equal(JSON.parse(text).path, "/echo/x");
    }
    assert.equal(origin.hits("/echo"), 20);

    // Forced open through whichever worker takes this request; the other
    // can only learn of it from the store (its upstream never failed).
    const forced = await freshFetch(
      `${base}/_gateway/breakers/open?route=api&upstream=${
        encodeURIComponent(upstream)
      }`,
      { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    assert.equal(forced.status, 200);
    // A worker syncs on traffic (every 250 ms at most), so its first
    // request after the force may still pass: wait for a run of rejections.
    let rejectedInARow = 0;
    for (let i = 0; i < 200 && rejectedInARow < 30; i++) {
      const { status, text } = await freshFetch(`${base}/api/y`);
      if (status === 503) {
        assert.equal(JSON.parse(text).code, "circuit_open");
        rejectedInARow++;
      } else {
        assert.equal(status, 200);
        rejectedInARow = 0;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    assert.equal(rejectedInARow, 30);

    // Every worker's own counters: two different sets, each with
    // circuit_open rejections, so both workers answered and both knew.
    const workers = new Set<string>();
    for (let i = 0; i < 100 && workers.size < 2; i++) {
      const scrape = await freshFetch(`${base}/_gateway/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(scrape.status, 200);
      workers.add(apiCounts(scrape.text));
    }
    assert.equal(workers.size, 2, `workers seen: ${[...workers].join(" | ")}`);
    for (const counts of workers) assert.match(counts, /503:[1-9]/);
  } finally {
    killQuietly(spawned.child, "SIGTERM");
    await waitForExit(spawned, 10_000);
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

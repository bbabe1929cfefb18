/**
 * Streams the gateway cuts on purpose (an idle or total deadline, a client
 * taken as gone, a broken upstream) error the response body, which Deno
 * reports to the server's `onError`. The real process (`deploy/deno/main.ts`)
 * must leave them to the access line: nothing on stderr, every stdout line
 * JSON.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { openRaw } from "../_fixtures/raw_client.ts";
import { startGatewayProcess } from "../_fixtures/gateway_process.ts";
import { routeConfig } from "../_fixtures/gateway.ts";

/**
 * Runs the real process with `timeouts`, lets the idle deadline cut the
 * stalled body at `path`, and checks that only its access line tells.
 */
async function assertCutToldByAccessLineOnly(
  path: string,
  timeouts: Record<string, number>,
  /** No earlier than this after the request: tells which deadline cut it. */
  cutAfterMs: number,
): Promise<void> {
  await using origin = await Origin.start();
  const gateway = await startGatewayProcess({
    config: routeConfig([origin.url], { policy: { timeouts } }),
  });
  try {
    const conn = await openRaw(gateway.port);
    const started = performance.now();
    try {
      await conn.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.equal((await conn.readHead()).status, 200);
      while (await conn.readChunk() !== null);
      assert.equal(conn.complete, false, "a cut body must not end cleanly");
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs >= cutAfterMs, `cut after ${elapsedMs} ms`);
    } finally {
      conn.close();
    }
    const line = await gateway.waitForLog((l) => l.msg === "access");
    assert.equal(line.flags, "IT");
  } finally {
    assert.equal((await gateway.stop()).code, 0);
  }
  // The process has exited: its output is complete.
  assert.deepEqual(gateway.stderr.lines.filter((text) => text !== ""), []);
  for (const text of gateway.stdout.lines) {
    assert.doesNotThrow(() => JSON.parse(text), `not JSON: ${text}`);
  }
}

Deno.test("a stream cut by the idle deadline is told by its access line only: nothing on stderr", async () => {
  await assertCutToldByAccessLineOnly(
    "/api/stall?chunks=1",
    { idleMs: 200 },
    200,
  );
});

Deno.test("a body of known length cut on the native pipe is told by its access line only: nothing on stderr", async () => {
  await assertCutToldByAccessLineOnly("/api/stall?chunks=1&length=100000", {
    idleMs: 200,
    minBytesPerSecond: 1_000_000,
  }, 1200); // the relay would cut it at 200 ms
});

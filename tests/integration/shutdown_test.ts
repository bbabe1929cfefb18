/**
 * Graceful shutdown of the real gateway process (`deploy/deno/main.ts`) on
 * SIGTERM: streams in flight run to their end within `GATEWAY_DRAIN_MS` and
 * are cut off past it; no new connections are taken; the exit code is 0 and
 * the log tells `draining` then `stopped`; open WebSockets get 1001 when the
 * drain time ends.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { openSocket } from "../_fixtures/ws_client.ts";
import { WsOrigin } from "../_fixtures/ws_origin.ts";
import { openRaw, type RawConnection } from "../_fixtures/raw_client.ts";
import {
  type GatewayProcess,
  startGatewayProcess,
} from "../_fixtures/gateway_process.ts";

const decoder = new TextDecoder();

const streamRequest = (chunks: number) =>
  `GET /api/stream?chunks=${chunks}&interval=100 HTTP/1.1\r\n` +
  "Host: x\r\nConnection: close\r\n\r\n";

const READY_REQUEST = "GET /_gateway/health/ready HTTP/1.1\r\nHost: x\r\n\r\n";

function streamConfig(originUrl: string) {
  return {
    routes: [{
      name: "stream",
      path: "/api/*",
      upstreams: [originUrl],
      stripPrefix: "/api",
    }],
  };
}

/** Opens the stream and reads its head and first chunk (the origin sends one line per chunk). */
async function startStream(
  gateway: GatewayProcess,
  chunks: number,
): Promise<{ conn: RawConnection; lines: string[] }> {
  const conn = await openRaw(gateway.port);
  await conn.write(streamRequest(chunks));
  assert.equal((await conn.readHead()).status, 200);
  const first = await conn.readChunk();
  assert.ok(first !== null, "the stream ended before its first chunk");
  return { conn, lines: [decoder.decode(first)] };
}

/** Reads what is left of the body; `complete` says whether it ended cleanly. */
async function readRest(
  conn: RawConnection,
  lines: string[],
): Promise<string[]> {
  for (let chunk; (chunk = await conn.readChunk()) !== null;) {
    lines.push(decoder.decode(chunk));
  }
  return lines.join("").trim().split("\n");
}

/**
 * Opens new connections (every 10 ms, for at most 1 s) until one is
 * refused; each one accepted meanwhile asks for readiness. Returns what
 * each attempt got: `refused`, `closed` (no answer) or the status.
 */
async function probeUntilRefused(port: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    let conn: RawConnection;
    try {
      conn = await openRaw(port, 1_000);
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
      outcomes.push("refused");
      return outcomes;
    }
    try {
      await conn.write(READY_REQUEST);
      outcomes.push(String((await conn.readHead()).status));
    } catch {
      outcomes.push("closed");
    } finally {
      conn.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return outcomes;
}

/** Messages of the gateway's own log lines (access lines left out), in order. */
function messages(gateway: GatewayProcess): string[] {
  return gateway.logs()
    .map((line) => String(line.msg))
    .filter((msg) => msg !== "access");
}

Deno.test("SIGTERM drains: an open stream completes in full, new connections are refused, exit 0", async () => {
  const origin = await Origin.start();
  const gateway = await startGatewayProcess({
    config: streamConfig(origin.url),
    drainMs: 5_000,
  });
  let idle: RawConnection | undefined;
  let stream: RawConnection | undefined;
  try {
    // A kept-alive connection, idle between requests when the signal comes.
    idle = await openRaw(gateway.port);
    await idle.write(READY_REQUEST);
    assert.equal((await idle.readHead()).status, 200);
    while (await idle.readChunk() !== null);

    const started = await startStream(gateway, 10);
    stream = started.conn;
    gateway.kill("SIGTERM");
    const draining = await gateway.waitForLog((l) => l.msg === "draining");
    assert.equal(draining.inflight, 1);

    // Deno closes idle connections when the drain starts; should one still
    // answer, readiness must already say 503.
    await idle.write(READY_REQUEST).catch(() => {});
    const answer = await idle.readHead().catch((error: Error) => error);
    if (answer instanceof Error) {
      assert.match(answer.message, /connection closed first|reset|broken/i);
    } else {
      assert.equal(answer.status, 503);
    }
    const probes = await probeUntilRefused(gateway.port);
    assert.equal(probes.at(-1), "refused", `probes: ${probes.join(", ")}`);
    assert.ok(
      probes.every((probe) =>
        probe === "refused" || probe === "closed" || probe === "503"
      ),
      `a connection opened during the drain was served: ${probes.join(", ")}`,
    );

    const lines = await readRest(stream, started.lines);
    assert.equal(stream.complete, true, "the stream did not end cleanly");
    assert.deepEqual(
      lines.map((line) => JSON.parse(line).seq),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );

    const status = await gateway.exited();
    assert.equal(status.code, 0, gateway.stderr.tail());
    const said = messages(gateway);
    assert.ok(
      said.indexOf("draining") < said.indexOf("stopped"),
      `log order: ${said.join(", ")}`,
    );
    assert.ok(!said.includes("drain time over; closing open exchanges"));
    const stopped = gateway.logs().find((l) => l.msg === "stopped");
    assert.equal(stopped?.drained, true);
  } finally {
    idle?.close();
    stream?.close();
    await gateway.stop();
    await origin.close();
  }
});

Deno.test("SIGTERM with a drain shorter than the stream: the stream ends abnormally, exit still 0", async () => {
  const origin = await Origin.start();
  const gateway = await startGatewayProcess({
    config: streamConfig(origin.url),
    drainMs: 300,
  });
  let stream: RawConnection | undefined;
  try {
    // 20 chunks 100 ms apart: about 2 s, far past the 300 ms drain.
    const started = await startStream(gateway, 20);
    stream = started.conn;
    gateway.kill("SIGTERM");
    const lines = await readRest(stream, started.lines);
    assert.equal(stream.complete, false, "a cut stream looked complete");
    assert.ok(lines.length < 20, `all ${lines.length} lines arrived`);

    const status = await gateway.exited();
    assert.equal(status.code, 0, gateway.stderr.tail());
    const said = messages(gateway);
    const draining = said.indexOf("draining");
    const over = said.indexOf("drain time over; closing open exchanges");
    const stopped = said.indexOf("stopped");
    assert.ok(
      draining >= 0 && draining < over && over < stopped,
      `log order: ${said.join(", ")}`,
    );
    assert.equal(
      gateway.logs().find((l) => l.msg === "stopped")?.drained,
      false,
    );
  } finally {
    stream?.close();
    await gateway.stop();
    await origin.close();
  }
});

Deno.test("SIGTERM with an open WebSocket: it keeps working through the drain time, then gets 1001; exit 0", async () => {
  const origin = WsOrigin.start();
  const gateway = await startGatewayProcess({
    config: streamConfig(origin.url),
    drainMs: 500,
  });
  try {
    const client = await openSocket(
      `http://127.0.0.1:${gateway.port}/api/echo`,
    );
    const signalled = Date.now();
    gateway.kill("SIGTERM");
    client.socket.send("during the drain");
    assert.equal(await client.next(), "during the drain");
    assert.deepEqual(await client.closed, {
      code: 1001,
      reason: "gateway shutting down",
      wasClean: true,
    });
    assert.ok(Date.now() - signalled >= 400, "closed before the drain time");
    assert.equal((await origin.nextClose()).code, 1000); // Deno's client: 1001 → 1000
    const status = await gateway.exited();
    assert.equal(status.code, 0, gateway.stderr.tail());
    const access = gateway.logs().find((l) => l.status === 101);
    assert.equal(
      (access?.websocket as { cause?: string } | undefined)?.cause,
      "shutdown",
    );
  } finally {
    await gateway.stop();
    await origin.close();
  }
});

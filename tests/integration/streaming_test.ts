/**
 * Bodies stream both ways chunk by chunk; failures after the headers went out
 * end the client's response abnormally; a client that leaves cancels the
 * upstream at once and nothing is left behind.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { header, openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import { streamingDecoder } from "../_fixtures/streaming_decoder.ts";
import {
  RawOrigin,
  resetMidChunked,
  shortBody,
} from "../_fixtures/raw_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

Deno.test("response chunks reach the client as they are produced (gzip-accepting client)", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const conn = await openRaw(gw.port);
  await conn.write(
    "GET /api/stream?chunks=6&interval=80 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
  );
  const head = await conn.readHead();
  assert.equal(head.status, 200);
  // NDJSON is compressible: it comes gzip-encoded, flushed per chunk.
  assert.equal(header(head, "content-encoding"), "gzip");
  const decoder = streamingDecoder("gzip");
  const arrivals: number[] = [];
  let text = "";
  for (let chunk; (chunk = await conn.readChunk()) !== null;) {
    arrivals.push(performance.now());
    text += await decoder.decode(chunk);
  }
  decoder.close();
  conn.close();
  assert.ok(conn.complete);
  assert.equal(text.trim().split("\n").length, 6);
  // Six chunks produced 80 ms apart arrive spread over ~400 ms, not at once.
  assert.ok(arrivals.length >= 5, `only ${arrivals.length} reads`);
  assert.ok(
    arrivals[arrivals.length - 1] - arrivals[0] > 250,
    "chunks arrived together: the body was buffered",
  );
});

Deno.test("a request body streams to the upstream as it arrives", async () => {
  await using origin = await Origin.start();
  // POST without Idempotency-Key: never retried, so never held for replay.
  await using gw = await startTestGateway(routeConfig([origin.url]));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 5) return controller.close();
      if (sent > 0) await origin.waitForRequests(1);
      // Wait until the origin saw the previous chunk before sending more.
      const seen = () => origin.requests[0]?.chunkTimes.length ?? 0;
      for (let i = 0; sent > 0 && seen() < sent; i++) {
        if (i === 400) {
          throw new Error(`chunk ${sent} never reached the origin`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      controller.enqueue(new TextEncoder().encode(`part ${sent}\n`));
      sent++;
    },
  });
  const res = await fetch(`${gw.url}/api/upload`, {
    method: "POST",
    body,
    // @ts-ignore: duplex is needed for a streamed request body
    duplex: "half",
  });
  const result = await res.json();
  assert.equal(result.bytes, 35);
  // Each chunk reached the origin before the next one was even produced.
  assert.equal(origin.requests[0].chunkTimes.length, 5);
});

for (
  const [declared, minBytesPerSecond, path] of [
    [100, 16_384, "handed natively to Deno"],
    [200_000, 16_384, "handed natively to Deno, 200 KB"],
    [200_000, null, "streamed through the gateway's reader"],
  ] as const
) {
  Deno.test(`a body shorter than its Content-Length ends abnormally: ${path}`, async () => {
    const raw = RawOrigin.start(shortBody(declared, 10));
    const gw = await startTestGateway(routeConfig([raw.url], {
      policy: { timeouts: { minBytesPerSecond } },
    }));
    try {
      const res = await rawRequest(
        gw.port,
        "GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.equal(res.status, 200);
      assert.equal(res.complete, false, "truncated body looked complete");
      assert.ok(res.body.length < declared);
      const line = await gw.waitForAccessLog(() => true);
      // A natively piped body's failure is invisible to JavaScript: only the
      // streamed path can flag it in the log (see docs/streaming.md).
      // Which is also how this tells the native pipe from the relay.
      if (minBytesPerSecond === null) assert.match(String(line.flags), /UR/);
      else assert.doesNotMatch(String(line.flags), /UR/);
    } finally {
      await gw.close();
      await raw.close();
    }
  });
}

Deno.test("an upstream reset mid-stream ends the client's chunked response abnormally", async () => {
  await using raw = RawOrigin.start(resetMidChunked(2));
  await using gw = await startTestGateway(routeConfig([raw.url]));
  const res = await rawRequest(
    gw.port,
    "GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(res.status, 200);
  assert.equal(res.framing, "chunked");
  assert.equal(res.complete, false, "reset body ended with a final chunk");
});

Deno.test("a client that leaves mid-stream cancels the upstream at once", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const conn = await openRaw(gw.port);
  await conn.write(
    "GET /api/stall?chunks=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal((await conn.readHead()).status, 200);
  assert.ok(await conn.readChunk());
  conn.close();
  assert.equal(await origin.nextCancel(), "/stall");
  const line = await gw.waitForAccessLog(() => true);
  assert.match(String(line.flags), /CD/);
  assert.equal(gw.serving.gateway.inflight, 0);
  const metrics = await (await fetch(`${gw.url}/_gateway/metrics`)).text();
  assert.match(metrics, /gateway_client_disconnects_total\{route="test"\} 1/);
});

Deno.test("a client that leaves before the headers cancels the upstream request", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const conn = await openRaw(gw.port);
  await conn.write(
    "GET /api/slow-headers?ms=10000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  await origin.waitForRequests(1);
  conn.close();
  assert.equal(await origin.nextCancel(), "/slow-headers");
  await gw.waitForAccessLog((l) => String(l.flags).includes("CD"));
});

Deno.test("many aborted clients leave nothing behind: the gateway keeps serving", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  for (let i = 0; i < 30; i++) {
    const conn = await openRaw(gw.port);
    await conn.write(
      "GET /api/stall?chunks=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    await conn.readHead();
    conn.close();
  }
  for (let i = 0; i < 30; i++) await origin.nextCancel();
  const res = await fetch(`${gw.url}/api/echo`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(origin.cancels.length, 30);
});

Deno.test("a large body streams through with the exact bytes", async () => {
  await using origin = await Origin.start();
  await using gw = await startTestGateway(routeConfig([origin.url]));
  const size = 8 * 1024 * 1024 + 123;
  const res = await fetch(`${gw.url}/api/big?bytes=${size}`);
  assert.equal(res.headers.get("content-length"), String(size));
  const reader = res.body!.getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i += 4099) {
      assert.equal(value[i], (offset + i) & 0xff);
    }
    offset += value.length;
  }
  assert.equal(offset, size);
});

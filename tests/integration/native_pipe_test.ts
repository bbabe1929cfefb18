/**
 * Deno's native body pipe, made endable (src/runtime/deno/native_pipe.ts),
 * on real sockets: a `fetch` body handed back by `Deno.serve` is cut at
 * once when asked, and freed after a complete send. It rests on Deno
 * internals, so this is also the canary for a Deno upgrade. Deno's resource
 * sanitizer does not see a `fetch` body left open, so the tests count them in
 * Deno's resource table themselves.
 */
import assert from "node:assert/strict";
import { denoNativePipe } from "../../src/runtime/deno/native_pipe.ts";
import { Origin } from "../_fixtures/origin.ts";
import { openRaw } from "../_fixtures/raw_client.ts";

/** `fetch` bodies open in this process (Deno's resource table). */
function openFetchBodies(): number {
  const internal = (Deno as unknown as { internal: symbol }).internal;
  const { core } = (Deno as unknown as Record<
    symbol,
    { core: { resources(): Record<string, string> } }
  >)[internal];
  return Object.values(core.resources()).filter((name) =>
    name === "fetchResponse"
  ).length;
}

const GET_CLOSE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

/** A front that passes `/…` of the origin through the native pipe. */
function startFront(origin: Origin) {
  const pipe = denoNativePipe();
  assert.ok(pipe, "this Deno no longer has what the native pipe needs");
  const ends: (() => void)[] = [];
  const settled: Promise<unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request, info) => {
      const { pathname, search } = new URL(request.url);
      const upstream = await fetch(`${origin.url}${pathname}${search}`);
      const end = pipe.take(upstream.body!);
      assert.ok(end, "a fetch body has a resource to pipe");
      ends.push(end);
      settled.push(info.completed.finally(end));
      return new Response(upstream.body, { headers: upstream.headers });
    },
  );
  return {
    port: server.addr.port,
    ends,
    settled,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("native pipe: ending a stalled body cuts the client's response and the upstream", async () => {
  await using origin = await Origin.start();
  await using front = startFront(origin);
  const conn = await openRaw(front.port);
  try {
    await conn.write(GET_CLOSE("/stall?chunks=1&length=1048576"));
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    assert.deepEqual(
      head.headers.find(([name]) => name.toLowerCase() === "content-length"),
      ["content-length", "1048576"],
    );
    assert.ok(await conn.readChunk(), "the first bytes came through");
    front.ends[0]();
    while (await conn.readChunk() !== null) { /* the rest, if any */ }
    assert.equal(conn.complete, false, "a cut body must not look complete");
  } finally {
    conn.close();
  }
  // Deno settles `completed` for a cut body too (resolved, not rejected).
  await front.settled[0].catch(() => {});
  assert.equal(openFetchBodies(), 0);
  assert.equal(await origin.nextCancel(), "/stall");
});

Deno.test("native pipe: a body sent whole arrives byte for byte, and ending it after frees it", async () => {
  await using origin = await Origin.start();
  await using front = startFront(origin);
  const response = await fetch(
    `http://127.0.0.1:${front.port}/big?bytes=3000000`,
  );
  const body = new Uint8Array(await response.arrayBuffer());
  assert.equal(body.length, 3_000_000);
  assert.ok(body.every((byte, k) => byte === (k & 0xff)));
  await front.settled[0];
  assert.equal(openFetchBodies(), 0, "a sent body was not freed");
  front.ends[0](); // again: a no-op
});

Deno.test("native pipe: a stream made in JavaScript is not taken", () => {
  const pipe = denoNativePipe()!;
  const stream = new ReadableStream<Uint8Array>();
  assert.equal(pipe.take(stream), null);
});

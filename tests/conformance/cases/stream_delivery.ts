import assert from "node:assert/strict";
import { brotliDecompressSync } from "node:zlib";
import { header, openRaw } from "../../_fixtures/raw_client.ts";
import { jsonRecords } from "../../_fixtures/origin.ts";
import { type ConformanceTarget, portOf } from "../target.ts";
import { requestText, send } from "./http.ts";

/**
 * Route `firstbyte` tries an upstream that sends `200` headers and stalls;
 * with `firstByteMs` the gateway held those headers, so it fails over to the
 * origin and the client sees one clean answer.
 */
export async function failsOverAStallBeforeTheFirstByte(
  target: ConformanceTarget,
): Promise<void> {
  const before = target.stalled.requests.length;
  const res = await send(target, "GET", "/firstbyte/sse?events=2&between=0");
  assert.equal(res.status, 200);
  assert.equal(header(res, "x-gateway-attempts"), "2");
  assert.ok(res.complete);
  assert.match(new TextDecoder().decode(res.body), /"seq":1/);
  assert.equal(target.stalled.requests.length, before + 1);
}

/**
 * Route `sse` sends a heartbeat comment into a quiet event stream, between
 * events only.
 */
export async function heartbeatsAQuietEventStream(
  target: ConformanceTarget,
): Promise<void> {
  const conn = await openRaw(portOf(target));
  try {
    await conn.write(
      requestText(target, "GET", "/sse/sse?events=2&inside=300&between=300"),
    );
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    let text = "";
    for (let i = 0; i < 100; i++) {
      const chunk = await conn.readChunk();
      if (chunk === null) break;
      text += new TextDecoder().decode(chunk);
    }
    assert.ok(conn.complete);
    const beats = text.split(":\n\n");
    assert.ok(beats.length >= 2, `no heartbeat in ${JSON.stringify(text)}`);
    for (const before of beats.slice(0, -1)) {
      assert.ok(before === "" || before.endsWith("\n\n"), "inside an event");
    }
  } finally {
    conn.close();
  }
}

/** A 100 KB JSON response comes br-compressed, whole, without a length. */
export async function compressesAJsonBody(
  target: ConformanceTarget,
): Promise<void> {
  const res = await send(target, "GET", "/plain/json", {
    "accept-encoding": "br, gzip",
  });
  assert.equal(res.status, 200);
  assert.equal(header(res, "content-encoding"), "br");
  assert.equal(header(res, "vary"), "Accept-Encoding");
  assert.equal(header(res, "content-length"), undefined);
  const plain = new Uint8Array(await jsonRecords(102_400).arrayBuffer());
  assert.deepEqual(new Uint8Array(brotliDecompressSync(res.body)), plain);
}

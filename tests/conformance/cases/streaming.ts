import assert from "node:assert/strict";
import { header, openRaw } from "../../_fixtures/raw_client.ts";
import type { Origin } from "../../_fixtures/origin.ts";
import { type ConformanceTarget, portOf } from "../target.ts";
import { requestText, send } from "./http.ts";
import { streamingDecoder } from "../../_fixtures/streaming_decoder.ts";

const STREAM_CHUNKS = 5;
const STREAM_INTERVAL_MS = 200;
/** How long an abandoned upstream response may take to be cancelled. */
const CANCEL_WAIT_MS = 10_000;

/**
 * Each upstream chunk reaches the client as it is made. The origin runs in
 * this process and stamps each line with its own `performance.now()`, so the
 * proof needs no timing margin: every line must arrive before the origin
 * even produced the next one. With `acceptEncoding` the gateway compresses
 * the NDJSON stream (flushed per chunk, decoded here chunk by chunk as a
 * browser would); a runtime that re-encoded or held it (workerd's own
 * encoder) fails.
 */
export async function streamsChunksAsTheyCome(
  target: ConformanceTarget,
  acceptEncoding: "gzip" | "gzip, br" | null,
): Promise<void> {
  const conn = await openRaw(portOf(target));
  const arrivals: LineArrival[] = [];
  try {
    await conn.write(requestText(
      target,
      "GET",
      `/plain/stream?chunks=${STREAM_CHUNKS}&interval=${STREAM_INTERVAL_MS}`,
      acceptEncoding === null ? {} : { "accept-encoding": acceptEncoding },
    ));
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    // workerd's responses say `identity` where Deno's say nothing.
    const label = header(head, "content-encoding");
    const encoding = label === "identity" ? undefined : label;
    assert.equal(
      encoding,
      { "gzip": "gzip", "gzip, br": "br", "null": undefined }[
        String(acceptEncoding)
      ],
    );
    const decoder = streamingDecoder(encoding);
    try {
      let pending = "";
      for (let i = 0; i <= STREAM_CHUNKS * 4; i++) {
        const chunk = await conn.readChunk();
        if (chunk === null) break;
        const arrivedAt = performance.now();
        const lines = (pending + await decoder.decode(chunk)).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          arrivals.push({ madeAt: JSON.parse(line).t, arrivedAt });
        }
      }
    } finally {
      decoder.close();
    }
    assert.ok(conn.complete, "the stream ended properly");
  } finally {
    conn.close();
  }
  assert.equal(arrivals.length, STREAM_CHUNKS, "every line arrived");
  for (let i = 0; i + 1 < arrivals.length; i++) {
    assert.ok(
      arrivals[i].arrivedAt < arrivals[i + 1].madeAt,
      `line ${i} arrived at ${arrivals[i].arrivedAt.toFixed(0)}, after line ` +
        `${i + 1} was made at ${arrivals[i + 1].madeAt.toFixed(0)}: held`,
    );
  }
}

/**
 * A text/plain body (a type Cloudflare compresses) whose first chunk is
 * followed by silence: the chunk must reach a gzip-accepting client during
 * the silence, not when the body ends (the gateway gzips it, flushed).
 */
export async function flushesTextBeforeTheBodyEnds(
  target: ConformanceTarget,
): Promise<void> {
  const silenceMs = 800;
  const conn = await openRaw(portOf(target));
  try {
    await conn.write(
      requestText(target, "GET", `/plain/stall?chunks=1&ms=${silenceMs}`, {
        "accept-encoding": "gzip",
      }),
    );
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    assert.equal(header(head, "content-encoding"), "gzip");
    const decoder = streamingDecoder("gzip");
    const first = await conn.readChunk();
    const firstAt = performance.now();
    assert.equal(
      await decoder.decode(first ?? new Uint8Array()),
      "stall 0\n",
    );
    decoder.close();
    for (let i = 0; i < 100 && await conn.readChunk() !== null; i++) {
      // drain to the end of the body
    }
    const endAt = performance.now();
    assert.ok(conn.complete, "the body ended properly");
    assert.ok(
      endAt - firstAt >= silenceMs / 2,
      `first chunk only ${(endAt - firstAt).toFixed(0)} ms before the end`,
    );
  } finally {
    conn.close();
  }
}

/**
 * A body of known length arrives whole, every byte in place, with its length
 * kept (Deno hands it to its native pipe, Workers relay it).
 */
export async function passesABigBodyWhole(
  target: ConformanceTarget,
): Promise<void> {
  const bytes = 16 * 1024 * 1024;
  const res = await send(target, "GET", `/plain/big?bytes=${bytes}`);
  assert.equal(res.status, 200);
  assert.ok(res.complete, "the body ended properly");
  const { body } = res;
  assert.equal(body.length, bytes);
  for (let k = 0; k < bytes; k += 4099) {
    assert.equal(body[k], k & 0xff, `byte ${k}`);
  }
}

/** A client that goes away mid-stream cancels the upstream response. */
export async function clientAbortCancelsUpstream(
  target: ConformanceTarget,
): Promise<void> {
  const conn = await openRaw(portOf(target));
  try {
    await conn.write(
      requestText(target, "GET", "/plain/stream?chunks=1000&interval=50"),
    );
    assert.equal((await conn.readHead()).status, 200);
    assert.notEqual(await conn.readChunk(), null);
  } finally {
    conn.close();
  }
  await waitForCancel(target.origin, "/stream");
}

/**
 * Waits (bounded) until the origin reports `path` abandoned by its client:
 * at once, or when a departed client workerd never reported idles out (the
 * conformance routes' 2 s `clientIdleMs`).
 */
export async function waitForCancel(
  origin: Origin,
  path: string,
): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    const cancelled = await origin.nextCancel(CANCEL_WAIT_MS);
    if (cancelled === path) return;
    seen.push(cancelled); // an earlier case's cancellation
  }
  assert.fail(`no cancellation of ${path}; saw ${seen.join(", ")}`);
}

interface LineArrival {
  /** When the origin made the line (its `t`). */
  madeAt: number;
  /** When the chunk holding the line reached the client. */
  arrivedAt: number;
}

import assert from "node:assert/strict";
import { header, openRaw } from "../../_fixtures/raw_client.ts";
import type { Origin } from "../../_fixtures/origin.ts";
import { type ConformanceTarget, portOf } from "../target.ts";
import { requestText } from "./http.ts";

const STREAM_CHUNKS = 5;
const STREAM_INTERVAL_MS = 200;

/**
 * Each upstream chunk reaches the client as it is made. The origin runs in
 * this process and stamps each line with its own `performance.now()`, so the
 * proof needs no timing margin: the first line must arrive before the origin
 * even produced the last one. With `acceptGzip` the client offers gzip, which
 * tempts a runtime (workerd) into re-encoding and holding the stream.
 */
export async function streamsChunksAsTheyCome(
  target: ConformanceTarget,
  acceptGzip: boolean,
): Promise<void> {
  const conn = await openRaw(portOf(target));
  const arrivals: LineArrival[] = [];
  try {
    await conn.write(requestText(
      target,
      "GET",
      `/plain/stream?chunks=${STREAM_CHUNKS}&interval=${STREAM_INTERVAL_MS}`,
      acceptGzip ? { "accept-encoding": "gzip, br" } : {},
    ));
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    assertNotReencoded(header(head, "content-encoding"));
    let pending = "";
    for (let i = 0; i <= STREAM_CHUNKS * 4; i++) {
      const chunk = await conn.readChunk();
      if (chunk === null) break;
      const arrivedAt = performance.now();
      const lines = (pending + new TextDecoder().decode(chunk)).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        arrivals.push({ madeAt: JSON.parse(line).t, arrivedAt });
      }
    }
    assert.ok(conn.complete, "the stream ended properly");
  } finally {
    conn.close();
  }
  assert.equal(arrivals.length, STREAM_CHUNKS, "every line arrived");
  const first = arrivals[0];
  const last = arrivals[arrivals.length - 1];
  assert.ok(
    first.arrivedAt < last.madeAt,
    `first line arrived at ${first.arrivedAt.toFixed(0)}, after the last ` +
      `was made at ${last.madeAt.toFixed(0)}: the body was buffered`,
  );
}

/**
 * A text/plain body (a type Cloudflare compresses) whose first chunk is
 * followed by silence: the chunk must reach a gzip-accepting client during
 * the silence, not when the body ends.
 */
export async function flushesTextBeforeTheBodyEnds(
  target: ConformanceTarget,
): Promise<void> {
  const silenceMs = 800;
  const conn = await openRaw(portOf(target));
  try {
    await conn.write(
      requestText(target, "GET", `/plain/stall?chunks=1&ms=${silenceMs}`, {
        "accept-encoding": "gzip, br",
      }),
    );
    const head = await conn.readHead();
    assert.equal(head.status, 200);
    assertNotReencoded(header(head, "content-encoding"));
    const first = await conn.readChunk();
    const firstAt = performance.now();
    assert.equal(
      new TextDecoder().decode(first ?? new Uint8Array()),
      "stall 0\n",
    );
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

/** Waits (bounded) until the origin reports `path` abandoned by its client. */
export async function waitForCancel(
  origin: Origin,
  path: string,
): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    const cancelled = await origin.nextCancel();
    if (cancelled === path) return;
    seen.push(cancelled); // an earlier case's cancellation
  }
  assert.fail(`no cancellation of ${path}; saw ${seen.join(", ")}`);
}

/** A body the gateway passes on must not come back re-encoded. */
function assertNotReencoded(contentEncoding: string | undefined): void {
  assert.ok(
    contentEncoding === undefined || contentEncoding === "identity",
    `a plain upstream body came back with content-encoding ${contentEncoding}`,
  );
}

interface LineArrival {
  /** When the origin made the line (its `t`). */
  madeAt: number;
  /** When the chunk holding the line reached the client. */
  arrivedAt: number;
}

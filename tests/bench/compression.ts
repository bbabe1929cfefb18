/**
 * What the gateway's compression costs and gives, for the numbers in
 * docs/streaming.md: CPU per MiB of the per-chunk-flushed encoders at several
 * levels (the shipped ones marked), then, through a real gateway on loopback,
 * bytes and per-event lag of an LLM-style SSE stream and bytes and time of a
 * 100 KB JSON response, identity vs gzip vs br.
 *
 *     deno run --allow-all tests/bench/compression.ts
 *
 * @module
 */

import process from "node:process";
import {
  constants,
  createBrotliCompress,
  createGzip,
  type Gzip,
} from "node:zlib";
import { BROTLI_QUALITY, GZIP_LEVEL } from "../../src/http/chunk_encoder.ts";
import { jsonRecords, Origin } from "../_fixtures/origin.ts";
import { header, openRaw } from "../_fixtures/raw_client.ts";
import { startTestGateway } from "../_fixtures/gateway.ts";
import { streamingDecoder } from "../_fixtures/streaming_decoder.ts";
import { median } from "./stream_lag.ts";

const encoder = new TextEncoder();

/** An OpenAI-style `chat.completion.chunk` event stamped with `t`. */
function llmEvent(i: number, t: number): Uint8Array {
  const event = {
    id: "chatcmpl-9x8Yz",
    object: "chat.completion.chunk",
    created: 1733140000,
    model: "gpt-4o-mini",
    choices: [{
      index: 0,
      delta: { content: ` token${(i * 37) % 1000}` },
      finish_reason: null,
    }],
    t,
  };
  return encoder.encode(`data: ${JSON.stringify(event)}\n\n`);
}

/** CPU ms per MiB of input to compress `chunks` `reps` times, a flush per chunk. */
async function encoderCost(
  encoding: "gzip" | "br",
  level: number,
  chunks: Uint8Array[],
  reps: number,
): Promise<{ msPerMiB: number; ratio: number }> {
  const inBytes = chunks.reduce((n, chunk) => n + chunk.length, 0);
  const before = process.cpuUsage();
  let outBytes = 0;
  for (let r = 0; r < reps; r++) {
    outBytes = await compressAll(encoding, level, chunks);
  }
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  return {
    msPerMiB: ms / (reps * inBytes / 1048576),
    ratio: outBytes / inBytes,
  };
}

async function compressAll(
  encoding: "gzip" | "br",
  level: number,
  chunks: Uint8Array[],
): Promise<number> {
  const stream: Gzip = encoding === "gzip"
    ? createGzip({ level })
    : createBrotliCompress({
      params: {
        [constants.BROTLI_PARAM_QUALITY]: level,
        [constants.BROTLI_PARAM_LGWIN]: 18,
      },
    }) as unknown as Gzip;
  const flush = encoding === "gzip"
    ? constants.Z_SYNC_FLUSH
    : constants.BROTLI_OPERATION_FLUSH;
  let out = 0;
  stream.on("data", (bytes: Uint8Array) => out += bytes.length);
  for (const chunk of chunks) {
    await new Promise<void>((resolve) => {
      stream.write(chunk);
      stream.flush(flush, () => resolve());
    });
  }
  await new Promise<void>((resolve) => stream.end(() => resolve()));
  return out;
}

/**
 * Every level is measured in each of 8 rounds, interleaved, and the median
 * reported: a shared machine's noise then hits every level alike.
 */
async function encoderTable(): Promise<void> {
  const json = new Uint8Array(await jsonRecords(102_400).arrayBuffer());
  const jsonChunks: Uint8Array[] = [];
  for (let at = 0; at < json.length; at += 16384) {
    jsonChunks.push(json.subarray(at, at + 16384));
  }
  const events = Array.from({ length: 500 }, (_, i) => llmEvent(i, 0));
  const levels: ["gzip" | "br", number][] = [
    ["gzip", 1],
    ["gzip", 5],
    ["gzip", 6],
    ["gzip", 9],
    ["br", 1],
    ["br", 4],
    ["br", 5],
    ["br", 6],
  ];
  const runs = levels.map(() => ({
    json: [] as number[],
    sse: [] as number[],
    jsonRatio: 0,
    sseRatio: 0,
  }));
  for (let round = 0; round < 8; round++) {
    for (const [i, [encoding, level]] of levels.entries()) {
      const a = await encoderCost(encoding, level, jsonChunks, 10);
      const b = await encoderCost(encoding, level, events, 4);
      runs[i].json.push(a.msPerMiB);
      runs[i].sse.push(b.msPerMiB);
      runs[i].jsonRatio = a.ratio;
      runs[i].sseRatio = b.ratio;
    }
  }
  console.log(
    "| coding | JSON, 16 KiB chunks | LLM SSE events, one flush each |",
  );
  console.log("| --- | --- | --- |");
  for (const [i, [encoding, level]] of levels.entries()) {
    const shipped =
      level === (encoding === "gzip" ? GZIP_LEVEL : BROTLI_QUALITY);
    const cell = (ms: number[], ratio: number) =>
      `${median(ms).toFixed(1)} ms CPU/MiB, ${(ratio * 100).toFixed(1)}%`;
    console.log(
      `| ${encoding} ${level}${shipped ? " (shipped)" : ""} | ${
        cell(runs[i].json, runs[i].jsonRatio)
      } | ${cell(runs[i].sse, runs[i].sseRatio)} |`,
    );
  }
}

/** An origin streaming `events` LLM-style events `intervalMs` apart. */
function llmOrigin(events: number, intervalMs: number): Deno.HttpServer {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let i = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        return new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            if (i === events) controller.close();
            else controller.enqueue(llmEvent(i++, performance.now()));
            resolve();
          }, intervalMs);
        });
      },
      cancel: () => clearTimeout(timer),
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: { "content-type": "text/event-stream" },
    });
  });
}

async function read(port: number, path: string, accept: string | null) {
  const started = performance.now();
  const conn = await openRaw(port);
  try {
    await conn.write(
      `GET ${path} HTTP/1.1\r\nHost: x\r\n` +
        (accept ? `Accept-Encoding: ${accept}\r\n` : "") +
        "Connection: close\r\n\r\n",
    );
    const head = await conn.readHead();
    const decoder = streamingDecoder(header(head, "content-encoding"));
    const lags: number[] = [];
    let wire = 0;
    let pending = "";
    for (let chunk; (chunk = await conn.readChunk()) !== null;) {
      const arrivedAt = performance.now();
      wire += chunk.length;
      const events = (pending + await decoder.decode(chunk)).split("\n\n");
      pending = events.pop() ?? "";
      for (const event of events) {
        const data = event.match(/^data: (\{.*)/)?.[1];
        if (data) lags.push(arrivedAt - JSON.parse(data).t);
      }
    }
    decoder.close();
    return { lags, wire, ms: performance.now() - started };
  } finally {
    conn.close();
  }
}

async function throughGateway(): Promise<void> {
  const llm = llmOrigin(200, 10);
  const origin = await Origin.start();
  const gw = await startTestGateway({
    routes: [
      {
        name: "llm",
        path: "/llm/*",
        upstreams: [`http://127.0.0.1:${(llm.addr as Deno.NetAddr).port}`],
      },
      {
        name: "api",
        path: "/api/*",
        upstreams: [origin.url],
        stripPrefix: "/api",
      },
    ],
  });
  try {
    console.log(
      "\n| sample | coding | bytes on the wire | lag or time, median |",
    );
    console.log("| --- | --- | --- | --- |");
    for (const accept of [null, "gzip", "br"]) {
      await read(gw.port, "/llm/chat", accept); // warm-up
      const run = await read(gw.port, "/llm/chat", accept);
      console.log(
        `| SSE, 200 events | ${accept ?? "identity"} | ${
          (run.wire / run.lags.length).toFixed(1)
        } B/event | ${median(run.lags).toFixed(2)} ms per event |`,
      );
    }
    for (const accept of [null, "gzip", "br"]) {
      const times: number[] = [];
      let wire = 0;
      for (let i = 0; i < 31; i++) {
        const run = await read(gw.port, "/api/json", accept);
        times.push(run.ms);
        wire = run.wire;
      }
      console.log(
        `| 100 KB JSON | ${accept ?? "identity"} | ${wire} B | ${
          median(times).toFixed(2)
        } ms request → last byte |`,
      );
    }
  } finally {
    await gw.close();
    await origin.close();
    await llm.shutdown();
  }
}

await encoderTable();
await throughGateway();

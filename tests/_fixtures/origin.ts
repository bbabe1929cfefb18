/**
 * A fault-injecting HTTP origin on `Deno.serve` (127.0.0.1, port 0) for the
 * gateway's integration and conformance tests.
 *
 * Endpoints (query parameters compose):
 *
 * | path | answer |
 * | --- | --- |
 * | `/echo…` | 200 JSON `{ method, path, search, headers, bodyBytes, body }` |
 * | `/status/<code>?retry-after=&retry-after-ms=&body=` | that status, those headers, that text |
 * | `/stream?chunks=5&interval=50&size=0` | chunked lines `{"seq":i,"t":<performance.now()>}` padded to `size` |
 * | `/slow-headers?ms=1000` | headers after `ms`; stops early when the client leaves |
 * | `/sse?events=3&inside=0&between=50` | `text/event-stream`: each event is `event: tick` + LF, then after `inside` ms `data: {"seq":i,"t":<performance.now()>}` + LF LF, then `between` ms of silence; then the end |
 * | `/json?bytes=102400` | `application/json` with `content-length`: an array of records, about `bytes` long, the same every time |
 * | `/stall?chunks=1&ms=&length=` | `chunks` lines `stall <i>` (sent back to back, so they may arrive as one chunk), then silence for `ms` (default: until cancelled), then the end; with `length`, declared as a body of that `content-length` (so the end is short of it) |
 * | `/gzip` | {@linkcode Origin.gzipBytes} with `content-encoding: gzip` and `content-length` |
 * | `/big?bytes=1048576&chunked=` | `bytes` bytes in 64 KiB chunks made on the fly; byte at offset k is `k & 0xff`; with `content-length`, or chunked with `chunked=1` |
 * | `/flaky?fail=1&key=default&status=503&retry-after=` | the first `fail` requests for `key` get `status` (with `retry-after`/`retry-after-ms` if given), later ones 200 `ok` |
 * | `/upload` | reads the body as a stream; JSON `{ bytes, sha256 }` |
 * | `/hop` | hop-by-hop headers (see {@linkcode HOP_BY_HOP_HEADERS}) plus `x-end-to-end: kept` |
 *
 * Anything else is 404. `Deno.serve` here does not compress responses on its
 * own and sends the hop-by-hop headers of `/hop` as given (checked in
 * `tests/integration/fixtures_test.ts`); for exact bytes use `raw_origin.ts`.
 *
 * @module
 */

import { createHash } from "node:crypto";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Request bodies are kept in {@linkcode OriginRequest.body} up to this size. */
export const MAX_RECORDED_BODY_BYTES = 1024 * 1024;

/** Default bound for {@linkcode Origin.waitForRequests} and {@linkcode Origin.nextCancel}. */
const DEFAULT_WAIT_MS = 5000;

const BIG_CHUNK_BYTES = 64 * 1024;

/** The headers `/hop` sends besides `x-end-to-end: kept`. */
export const HOP_BY_HOP_HEADERS: Readonly<Record<string, string>> = {
  "connection": "x-secret",
  "x-secret": "1",
  "keep-alive": "timeout=5",
  "proxy-authenticate": "Basic",
  "trailer": "x-t",
  "upgrade": "h2c",
};

/** A request as the origin received it. */
export interface OriginRequest {
  method: string;
  /** The path exactly as sent (not normalised: `/a/../b` stays so). */
  path: string;
  /** `?` and the query as sent, or `""`. */
  search: string;
  headers: Headers;
  /**
   * The body, set once fully read (always before the response is sent);
   * only the first {@linkcode MAX_RECORDED_BODY_BYTES} are kept.
   */
  body: Uint8Array;
  /** Body bytes received so far (grows while the body streams in). */
  bodyBytes: number;
  /** `performance.now()` at each request-body chunk arrival (grows live). */
  chunkTimes: number[];
}

/**
 * The fixture origin. Start one per test with `await using`: it closes when
 * the test's scope ends, however the test ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Origin } from "./origin.ts";
 * await using origin = await Origin.start();
 * const res = await fetch(`${origin.url}/echo`);
 * assert.equal((await res.json()).path, "/echo");
 * ```
 */
export class Origin implements AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port `Deno.serve` got. */
  readonly port: number;
  /** Every request received, in order, recorded when its head arrives. */
  readonly requests: OriginRequest[] = [];
  /** Paths of every response the client abandoned, in order. */
  readonly cancels: string[] = [];
  /** The exact bytes `/gzip` serves. */
  readonly gzipBytes: Uint8Array;
  /** What {@linkcode Origin.gzipBytes} decompress to. */
  readonly gzipPlain: string;

  #server: Deno.HttpServer<Deno.NetAddr>;
  #closing = new AbortController();
  #flakyCounts = new Map<string, number>();
  #unclaimedCancels: string[] = [];
  #waiters = new Set<() => void>();

  private constructor(gzipPlain: string, gzipBytes: Uint8Array) {
    this.gzipPlain = gzipPlain;
    this.gzipBytes = gzipBytes;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#handle(request),
    );
    this.port = this.#server.addr.port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** Starts an origin on a free loopback port. */
  static async start(): Promise<Origin> {
    const plain = Array.from(
      { length: 100 },
      (_, i) => `gzip fixture line ${i}: the quick brown fox\n`,
    ).join("");
    return new Origin(plain, await gzip(plain));
  }

  /** How many requests had a path starting with `pathPrefix`. */
  hits(pathPrefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix)).length;
  }

  /** Resolves once `n` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#waitUntil(
      () => this.requests.length >= n || undefined,
      timeoutMs,
      `${n} requests (have ${this.requests.length})`,
    ).then(() => {});
  }

  /**
   * Resolves with the path of the next response the client abandoned: a
   * response body stream cancelled because the client (the gateway) went
   * away, or a `/slow-headers` request aborted before its headers. Each
   * cancellation is handed out once, oldest first; rejects after `timeoutMs`.
   */
  nextCancel(timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    return this.#waitUntil(
      () => this.#unclaimedCancels.shift(),
      timeoutMs,
      "a cancelled response",
    );
  }

  /**
   * Ends every open response (streams still running are errored, so their
   * clients see an abnormal end), rejects pending waits, and stops the server.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#server.shutdown();
  }

  /** `await using origin = await Origin.start()` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request): Promise<Response> {
    const record = recordOf(request);
    this.requests.push(record);
    this.#notify();
    const digest = await this.#readBody(request, record);
    const query = new URLSearchParams(record.search);
    const path = record.path;
    if (path.startsWith("/echo")) return echo(record);
    if (path.startsWith("/status/")) return status(path, query);
    if (path === "/stream") return this.#streamLines(path, query);
    if (path === "/slow-headers") {
      return await this.#slowHeaders(request, query);
    }
    if (path === "/stall") return this.#stall(path, query);
    if (path === "/sse") return this.#sse(path, query);
    if (path === "/json") return jsonRecords(intParam(query, "bytes", 102_400));
    if (path === "/gzip") return this.#gzip();
    if (path === "/big") return this.#big(path, query);
    if (path === "/flaky") return this.#flaky(query);
    if (path === "/upload") {
      return Response.json({ bytes: record.bodyBytes, sha256: digest });
    }
    if (path === "/hop") {
      return new Response("hop", {
        headers: { ...HOP_BY_HOP_HEADERS, "x-end-to-end": "kept" },
      });
    }
    return new Response(`no fixture at ${path}\n`, { status: 404 });
  }

  /** Reads the body chunk by chunk into `record`; returns its SHA-256 (hex). */
  async #readBody(request: Request, record: OriginRequest): Promise<string> {
    const hash = createHash("sha256");
    const kept: Uint8Array[] = [];
    let keptBytes = 0;
    if (request.body) {
      const reader = request.body.getReader();
      // A stalled upload must not hold up close().
      const stop = () => reader.cancel().catch(() => {});
      this.#closing.signal.addEventListener("abort", stop);
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          record.chunkTimes.push(performance.now());
          record.bodyBytes += r.value.length;
          hash.update(r.value);
          if (keptBytes + r.value.length <= MAX_RECORDED_BODY_BYTES) {
            kept.push(r.value);
            keptBytes += r.value.length;
          }
        }
      } catch {
        // the client went away mid-upload: keep what arrived
      } finally {
        this.#closing.signal.removeEventListener("abort", stop);
      }
    }
    record.body = concatBytes(kept, keptBytes);
    return hash.digest("hex");
  }

  #streamLines(path: string, query: URLSearchParams): Response {
    const chunks = intParam(query, "chunks", 5);
    const interval = intParam(query, "interval", 50);
    const size = intParam(query, "size", 0);
    let seq = 0;
    return this.#streamingResponse(path, async (controller, signal) => {
      if (seq >= chunks) return controller.close();
      if (seq > 0 && !await sleep(interval, signal)) return;
      const line = JSON.stringify({ seq, t: performance.now() });
      controller.enqueue(encoder.encode(line.padEnd(size - 1, " ") + "\n"));
      seq++;
    }, { "content-type": "application/x-ndjson" });
  }

  async #slowHeaders(
    request: Request,
    query: URLSearchParams,
  ): Promise<Response> {
    const signal = AbortSignal.any([request.signal, this.#closing.signal]);
    if (!await sleep(intParam(query, "ms", 1000), signal)) {
      if (!this.#closing.signal.aborted) this.#recordCancel("/slow-headers");
      return new Response(null, { status: 499 }); // nobody is listening
    }
    return new Response("slow\n");
  }

  #stall(path: string, query: URLSearchParams): Response {
    const chunks = intParam(query, "chunks", 1);
    const silenceMs = query.has("ms") ? intParam(query, "ms", 0) : Infinity;
    let sent = 0;
    return this.#streamingResponse(path, async (controller, signal) => {
      if (sent < chunks) {
        controller.enqueue(encoder.encode(`stall ${sent++}\n`));
        return;
      }
      if (await sleep(silenceMs, signal)) controller.close();
    }, {
      "content-type": "text/plain",
      ...query.has("length") && { "content-length": query.get("length")! },
    });
  }

  #sse(path: string, query: URLSearchParams): Response {
    const events = intParam(query, "events", 3);
    const inside = intParam(query, "inside", 0);
    const between = intParam(query, "between", 50);
    let step = 0;
    return this.#streamingResponse(path, async (controller, signal) => {
      const seq = step >> 1;
      if (seq >= events) return controller.close();
      if (step % 2 === 0) {
        if (seq > 0 && !await sleep(between, signal)) return;
        controller.enqueue(encoder.encode("event: tick\n"));
      } else {
        if (!await sleep(inside, signal)) return;
        const data = JSON.stringify({ seq, t: performance.now() });
        controller.enqueue(encoder.encode(`data: ${data}\n\n`));
      }
      step++;
    }, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  }

  #gzip(): Response {
    return new Response(this.gzipBytes.slice(), {
      headers: {
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": String(this.gzipBytes.length),
      },
    });
  }

  #big(path: string, query: URLSearchParams): Response {
    const total = intParam(query, "bytes", 1024 * 1024);
    let offset = 0;
    return this.#streamingResponse(path, (controller) => {
      if (offset >= total) return controller.close();
      const chunk = new Uint8Array(Math.min(BIG_CHUNK_BYTES, total - offset));
      for (let i = 0; i < chunk.length; i++) chunk[i] = (offset + i) & 0xff;
      offset += chunk.length;
      controller.enqueue(chunk);
    }, {
      "content-type": "application/octet-stream",
      ...query.get("chunked") !== "1" && { "content-length": String(total) },
    });
  }

  #flaky(query: URLSearchParams): Response {
    const key = query.get("key") ?? "default";
    const seen = this.#flakyCounts.get(key) ?? 0;
    this.#flakyCounts.set(key, seen + 1);
    if (seen < intParam(query, "fail", 1)) {
      const headers = new Headers();
      for (const name of ["retry-after", "retry-after-ms"]) {
        const value = query.get(name);
        if (value !== null) headers.set(name, value);
      }
      return new Response(`flaky failure ${seen + 1}\n`, {
        status: intParam(query, "status", 503),
        headers,
      });
    }
    return new Response("ok");
  }

  /**
   * A body produced on demand (high-water mark 0: a chunk is made only when
   * the server asks for one, so a slow client holds no backlog). `produce`
   * gets a signal that aborts when the client cancels or the origin closes;
   * a close errors the stream so the client sees an abnormal end.
   */
  #streamingResponse(
    path: string,
    produce: (
      controller: ReadableStreamDefaultController<Uint8Array>,
      signal: AbortSignal,
    ) => void | Promise<void>,
    headers: Record<string, string> = { "content-type": "text/plain" },
  ): Response {
    const cancelled = new AbortController();
    const signal = AbortSignal.any([cancelled.signal, this.#closing.signal]);
    const closing = this.#closing.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const onClose = () => controller.error(closedMidStream());
        closing.addEventListener("abort", onClose, {
          signal: cancelled.signal,
        });
      },
      pull: (controller) => produce(controller, signal),
      cancel: () => {
        cancelled.abort();
        this.#recordCancel(path);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers });
  }

  #recordCancel(path: string): void {
    this.cancels.push(path);
    this.#unclaimedCancels.push(path);
    this.#notify();
  }

  /**
   * Resolves with `take()`'s first defined value, checked now and after each
   * notify; rejects on timeout or when the origin closes.
   */
  #waitUntil<T>(
    take: () => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const ready = take();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        this.#closing.signal.removeEventListener("abort", onClose);
      };
      const check = () => {
        const value = take();
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const onClose = () => {
        done();
        reject(new Error(`Cannot wait for ${what}: the origin closed`));
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`Cannot wait for ${what}: not within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      this.#closing.signal.addEventListener("abort", onClose);
    });
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }
}

function recordOf(request: Request): OriginRequest {
  // request.url carries the target as sent; URL parsing would normalise it.
  const afterScheme = request.url.indexOf("//") + 2;
  const target = request.url.slice(request.url.indexOf("/", afterScheme));
  const queryAt = target.indexOf("?");
  return {
    method: request.method,
    path: queryAt < 0 ? target : target.slice(0, queryAt),
    search: queryAt < 0 ? "" : target.slice(queryAt),
    headers: request.headers,
    body: new Uint8Array(0),
    bodyBytes: 0,
    chunkTimes: [],
  };
}

function echo(record: OriginRequest): Response {
  return Response.json({
    method: record.method,
    path: record.path,
    search: record.search,
    headers: [...record.headers],
    bodyBytes: record.bodyBytes,
    body: decoder.decode(record.body),
  });
}

function status(path: string, query: URLSearchParams): Response {
  const code = Number(path.slice("/status/".length));
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    return new Response(`Cannot answer status ${code}: use 200-599\n`, {
      status: 400,
    });
  }
  const headers = new Headers({ "content-type": "text/plain" });
  for (const name of ["retry-after", "retry-after-ms"]) {
    const value = query.get(name);
    if (value !== null) headers.set(name, value);
  }
  // These statuses forbid a body; Response would throw on one.
  const bodyless = [204, 205, 304].includes(code);
  return new Response(bodyless ? null : query.get("body") ?? "", {
    status: code,
    headers,
  });
}

/**
 * The error that ends a stream still running when the origin closes.
 * `Deno.serve` logs it; a one-line stack keeps that log readable.
 */
function closedMidStream(): Error {
  const error = new Error("origin closed mid-stream");
  error.stack = "Origin fixture: closed while a response was streaming";
  return error;
}

/** `/json`: about `bytes` of JSON records with `Content-Length`, built the same way every time. */
export function jsonRecords(bytes: number): Response {
  const records: string[] = [];
  let length = 2;
  for (let i = 0; length < bytes; i++) {
    const record = JSON.stringify({
      id: i,
      name: `user ${i}`,
      email: `user${i}@example.com`,
      active: i % 3 !== 0,
      score: (i * 7919) % 1000,
    });
    records.push(record);
    length += record.length + 1;
  }
  const body = encoder.encode(`[${records.join(",")}]`);
  return new Response(body, {
    headers: {
      "content-type": "application/json",
      "content-length": String(body.length),
    },
  });
}

/** Waits `ms` (Infinity: forever); false if `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms)
      : undefined;
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function intParam(query: URLSearchParams, name: string, fallback: number) {
  const value = query.get(name);
  return value === null || value === "" ? fallback : Number(value);
}

function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

async function gzip(text: string): Promise<Uint8Array> {
  const compressed = new Blob([text]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

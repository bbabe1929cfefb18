/**
 * A raw HTTP/1.1 client on `Deno.connect`, for tests that must see the exact
 * bytes a server sends: framing, header case, and above all whether a response
 * ended properly or was cut short (which `fetch` hides or turns into a vague
 * error).
 *
 * Nothing here can hang: every socket read is bounded by a timeout.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Default bound on a single socket read, in milliseconds. */
export const DEFAULT_READ_TIMEOUT_MS = 5000;

/** Largest response or request head accepted before giving up. */
const MAX_HEAD_BYTES = 64 * 1024;

const CRLF = encoder.encode("\r\n");
const CRLF_CRLF = encoder.encode("\r\n\r\n");

/** Thrown when a socket read waited longer than its timeout. */
export class ReadTimeoutError extends Error {
  /** @param timeoutMs the bound that was exceeded */
  constructor(timeoutMs: number) {
    super(`Cannot read from socket: no data within ${timeoutMs} ms`);
    this.name = "ReadTimeoutError";
  }
}

/**
 * Buffered reads over a `Deno.Conn`, each bounded by an optional timeout.
 * Shared by the raw client and the raw origin.
 *
 * On timeout the connection is closed (the only way to stop a pending read in
 * Deno) and a {@linkcode ReadTimeoutError} is thrown; the reader is unusable
 * afterwards.
 *
 * @example
 * ```ts ignore
 * const reader = new ByteReader(conn, 1000);
 * const head = await reader.readUntil(new TextEncoder().encode("\r\n\r\n"), 65536);
 * ```
 */
export class ByteReader {
  /**
   * Bound on each socket read in ms; `undefined` waits until data, EOF, or the
   * connection is closed elsewhere. May be changed between reads.
   */
  timeoutMs: number | undefined;
  #conn: Deno.Conn;
  #buffered = new Uint8Array(0);
  #eof = false;

  /**
   * @param conn the connection to read from
   * @param timeoutMs initial value of {@linkcode ByteReader.timeoutMs}
   */
  constructor(conn: Deno.Conn, timeoutMs?: number) {
    this.#conn = conn;
    this.timeoutMs = timeoutMs;
  }

  /** True once the peer closed its side (or the socket failed). */
  get eof(): boolean {
    return this.#eof;
  }

  /** Bytes read from the socket but not yet consumed. */
  get buffered(): number {
    return this.#buffered.length;
  }

  /**
   * Reads once more from the socket into the buffer.
   * Returns false at EOF; a reset or a locally closed socket also counts as EOF
   * because, for a test, both mean "no more bytes will come".
   */
  async fill(timeoutMs = this.timeoutMs): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    const read = this.#conn.read(chunk).catch(() => null);
    let n: number | null;
    if (timeoutMs === undefined) {
      n = await read;
    } else {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const winner = await Promise.race([read, timedOut]);
      clearTimeout(timer);
      if (winner === "timeout") {
        this.#eof = true;
        closeQuietly(this.#conn);
        await read; // let the interrupted read op finish so no op leaks
        throw new ReadTimeoutError(timeoutMs);
      }
      n = winner;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#buffered = concat(this.#buffered, chunk.subarray(0, n));
    return true;
  }

  /**
   * Returns the bytes up to and including `delimiter`, or null if EOF came
   * first. Throws when more than `maxBytes` arrive without the delimiter.
   */
  async readUntil(
    delimiter: Uint8Array,
    maxBytes: number,
  ): Promise<Uint8Array | null> {
    let searchFrom = 0;
    while (true) {
      const at = indexOf(this.#buffered, delimiter, searchFrom);
      if (at >= 0) return this.take(at + delimiter.length);
      if (this.#buffered.length > maxBytes) {
        throw new Error(
          `Cannot find delimiter: more than ${maxBytes} bytes without it`,
        );
      }
      searchFrom = Math.max(0, this.#buffered.length - delimiter.length + 1);
      if (!await this.fill()) return null;
    }
  }

  /** Returns exactly `n` bytes, or fewer if EOF comes first. */
  async readExact(n: number): Promise<Uint8Array> {
    while (this.#buffered.length < n && await this.fill()) {
      // keep filling until enough bytes or EOF
    }
    return this.take(Math.min(n, this.#buffered.length));
  }

  /**
   * Returns whatever is buffered (at most `maxBytes`), reading once from the
   * socket if nothing is; an empty array means EOF.
   */
  async readSome(maxBytes = Infinity): Promise<Uint8Array> {
    if (this.#buffered.length === 0) await this.fill();
    return this.take(Math.min(maxBytes, this.#buffered.length));
  }

  /** Removes and returns the first `n` buffered bytes. */
  take(n: number): Uint8Array {
    const head = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return head;
  }
}

/** A parsed response head. */
export interface RawResponseHead {
  status: number;
  /** The status line as received, without CRLF. */
  statusLine: string;
  /** Header fields in the order and case received. */
  headers: [string, string][];
  /** The head exactly as received, including the final empty line. */
  rawHead: string;
}

/** How the end of a response body is known. */
export type RawFraming = "chunked" | "length" | "close" | "none";

/** A whole response as read by {@linkcode rawRequest}. */
export interface RawResponse extends RawResponseHead {
  /** De-chunked / Content-Length-bounded bytes actually received. */
  body: Uint8Array;
  /**
   * True only if the message ended properly: the final 0-size chunk, all
   * Content-Length bytes, or (framing `"close"`, which cannot tell) EOF.
   */
  complete: boolean;
  /** `performance.now()` at each received body chunk (chunked: per chunk). */
  chunkTimes: number[];
  /** How the body was delimited; lets a test insist on chunked or length. */
  framing: RawFraming;
  /** True if the client gave up waiting for bytes (the read timeout). */
  timedOut: boolean;
}

/** Options for {@linkcode rawRequest}. */
export interface RawRequestOptions {
  /** Bound on each socket read, in ms (default 5000). */
  timeoutMs?: number;
}

/**
 * A raw connection for streaming tests: send bytes, then read the head and
 * the body chunk by chunk; `close()` at any point plays a client going away.
 */
export interface RawConnection {
  /** Sends bytes (a string is UTF-8 encoded). */
  write(data: string | Uint8Array): Promise<void>;
  /** Reads the response head (interim 1xx responses are skipped). */
  readHead(timeoutMs?: number): Promise<RawResponseHead>;
  /**
   * Reads the next body chunk: one de-chunked chunk for chunked bodies,
   * otherwise the bytes of one socket read. Returns null once the body ended,
   * properly or not (see `complete`). Throws {@linkcode ReadTimeoutError} if
   * nothing arrives in time.
   */
  readChunk(timeoutMs?: number): Promise<Uint8Array | null>;
  /** True once the body ended properly; false while reading or if cut short. */
  readonly complete: boolean;
  /** How the body is delimited; known after `readHead()`. */
  readonly framing: RawFraming | undefined;
  /** Closes the socket; safe to call more than once. */
  close(): void;
}

/**
 * Sends one request on a fresh connection and reads the whole response.
 * A server closing early or going silent gives `complete: false`, never a hang.
 *
 * @example
 * ```ts ignore
 * const res = await rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
 * assertEquals(res.status, 200);
 * assert(res.complete);
 * ```
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const conn = await openRaw(port, timeoutMs);
  try {
    await conn.write(request);
    const head = await conn.readHead();
    const parts: Uint8Array[] = [];
    const chunkTimes: number[] = [];
    let timedOut = false;
    try {
      for (let chunk; (chunk = await conn.readChunk()) !== null;) {
        parts.push(chunk);
        chunkTimes.push(performance.now());
      }
    } catch (error) {
      if (!(error instanceof ReadTimeoutError)) throw error;
      timedOut = true;
    }
    return {
      ...head,
      body: concat(...parts),
      complete: conn.complete,
      chunkTimes,
      framing: conn.framing ?? "none",
      timedOut,
    };
  } finally {
    conn.close();
  }
}

/**
 * Opens a connection to 127.0.0.1:`port` for incremental reading.
 *
 * @param timeoutMs default bound on each read (default 5000)
 * @example
 * ```ts ignore
 * const conn = await openRaw(port);
 * await conn.write("GET /stream?chunks=5 HTTP/1.1\r\nHost: x\r\n\r\n");
 * await conn.readHead();
 * const first = await conn.readChunk();
 * conn.close(); // the client goes away mid-stream
 * ```
 */
export async function openRaw(
  port: number,
  timeoutMs = DEFAULT_READ_TIMEOUT_MS,
): Promise<RawConnection> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return new RawClientConnection(conn, timeoutMs);
}

/**
 * The first header of that name (case-insensitive), or undefined.
 *
 * @example
 * ```ts ignore
 * header(res, "content-type"); // "application/json"
 * ```
 */
export function header(
  res: { headers: [string, string][] },
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  return res.headers.find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/** Per-body state: what is left to read and how the end is recognised. */
type BodyState =
  | { framing: "chunked" }
  | { framing: "length"; remaining: number }
  | { framing: "close" }
  | { framing: "none" };

class RawClientConnection implements RawConnection {
  #conn: Deno.Conn;
  #reader: ByteReader;
  #timeoutMs: number;
  #closed = false;
  #method: string | undefined;
  #body: BodyState | undefined;
  #ended = false;
  #complete = false;

  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.#reader = new ByteReader(conn);
  }

  get complete(): boolean {
    return this.#complete;
  }

  get framing(): RawFraming | undefined {
    return this.#body?.framing;
  }

  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    // The method decides whether a body follows (HEAD has none).
    this.#method ??= decoder.decode(bytes.subarray(0, 16)).split(" ")[0];
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  async readHead(timeoutMs = this.#timeoutMs): Promise<RawResponseHead> {
    while (true) {
      const head = await this.#readOneHead(timeoutMs);
      // Interim responses (100 Continue, 103 Early Hints) precede the real one.
      if (head.status >= 200 || head.status === 101) {
        const body = bodyStateOf(head, this.#method);
        this.#body = body;
        const empty = body.framing === "none" ||
          (body.framing === "length" && body.remaining === 0);
        if (empty) this.#finish(true);
        return head;
      }
    }
  }

  async readChunk(timeoutMs = this.#timeoutMs): Promise<Uint8Array | null> {
    const body = this.#body;
    if (body === undefined) {
      throw new Error("Cannot read a body chunk: call readHead() first");
    }
    if (this.#ended) return null;
    const reader = this.#readerWithTimeout(timeoutMs);
    switch (body.framing) {
      case "chunked":
        return await this.#readChunked(reader);
      case "length": {
        const bytes = await reader.readSome(body.remaining);
        if (bytes.length === 0) return this.#finish(false);
        body.remaining -= bytes.length;
        if (body.remaining === 0) this.#finish(true);
        return bytes;
      }
      case "close": {
        const bytes = await reader.readSome();
        return bytes.length === 0 ? this.#finish(true) : bytes;
      }
      case "none":
        return null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  async #readOneHead(timeoutMs: number): Promise<RawResponseHead> {
    const bytes = await this.#readerWithTimeout(timeoutMs).readUntil(
      CRLF_CRLF,
      MAX_HEAD_BYTES,
    );
    if (bytes === null) {
      throw new Error("Cannot read response head: connection closed first");
    }
    const rawHead = decoder.decode(bytes);
    const [statusLine, ...lines] = rawHead.slice(0, -4).split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    if (!statusLine.startsWith("HTTP/") || !Number.isInteger(status)) {
      throw new Error(
        `Cannot parse status line: ${JSON.stringify(statusLine)}`,
      );
    }
    return { status, statusLine, headers: parseHeaderLines(lines), rawHead };
  }

  async #readChunked(reader: ByteReader): Promise<Uint8Array | null> {
    const sizeLine = await reader.readUntil(CRLF, 1024);
    if (sizeLine === null) return this.#finish(false);
    // Chunk extensions (";name=value") are allowed after the size.
    const size = parseInt(decoder.decode(sizeLine).split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) return this.#finish(false);
    if (size === 0) {
      // Trailer section: lines until an empty one.
      while (true) {
        const line = await reader.readUntil(CRLF, MAX_HEAD_BYTES);
        if (line === null) return this.#finish(false);
        if (line.length === 2) return this.#finish(true);
      }
    }
    const data = await reader.readExact(size);
    const end = await reader.readExact(2);
    if (data.length < size || end.length < 2) return this.#finish(false);
    return data;
  }

  /** The shared reader, its reads bounded by this call's timeout. */
  #readerWithTimeout(timeoutMs: number): ByteReader {
    this.#reader.timeoutMs = timeoutMs;
    return this.#reader;
  }

  #finish(complete: boolean): null {
    this.#ended = true;
    this.#complete = complete;
    return null;
  }
}

/** Decides how the body after this head is delimited (RFC 9112 §6.3). */
function bodyStateOf(head: RawResponseHead, method?: string): BodyState {
  const noBody = method === "HEAD" || head.status === 204 ||
    head.status === 304 || head.status === 101;
  if (noBody) return { framing: "none" };
  const transferEncoding = header(head, "transfer-encoding")?.toLowerCase();
  if (transferEncoding?.split(",").at(-1)?.trim() === "chunked") {
    return { framing: "chunked" };
  }
  const contentLength = header(head, "content-length");
  if (contentLength !== undefined) {
    return { framing: "length", remaining: Number(contentLength) };
  }
  return { framing: "close" };
}

/**
 * Splits `Name: value` lines into pairs, keeping case and order.
 *
 * @example
 * ```ts
 * import { parseHeaderLines } from "./raw_client.ts";
 * parseHeaderLines(["X-A: 1"]); // [["X-A", "1"]]
 * ```
 */
export function parseHeaderLines(lines: string[]): [string, string][] {
  return lines.filter((line) => line.length > 0).map((line) => {
    const colon = line.indexOf(":");
    return colon < 0
      ? [line, ""]
      : [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
}

/** Joins byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number) {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** Closes a connection or listener that may already be closed. */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // already closed: nothing left to release
  }
}

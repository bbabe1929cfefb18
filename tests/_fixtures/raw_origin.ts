/**
 * A scripted origin on a raw TCP listener (`Deno.listen`), for what
 * `Deno.serve` cannot be made to do: exact response bytes, bodies shorter than
 * their Content-Length, connections dropped mid-chunked-body.
 *
 * Each connection carries one request: its head is parsed, then the script
 * runs; when the script returns, the connection is closed.
 *
 * About resets: Deno has no `SO_LINGER`, so a true TCP RST cannot be forced.
 * {@linkcode RawConn.reset} closes the socket at once, which reaches the peer
 * as a FIN (end of stream) in the middle of the message; the peer can tell it
 * from a proper end only because the message is incomplete (a missing final
 * chunk, or fewer bytes than Content-Length). If request bytes are still
 * unread in the kernel, Linux sends an RST instead.
 *
 * @module
 */

import {
  ByteReader,
  closeQuietly,
  concat,
  parseHeaderLines,
} from "./raw_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF = encoder.encode("\r\n");
const CRLF_CRLF = encoder.encode("\r\n\r\n");
const MAX_HEAD_BYTES = 64 * 1024;

/** A request head as received. */
export interface RawRequestHead {
  method: string;
  /** The request target exactly as sent (origin-form, absolute-form, ...). */
  target: string;
  /** Header fields in the order and case received. */
  headers: [string, string][];
  /** The head exactly as received, including the final empty line. */
  raw: string;
}

/** One accepted connection, as a script sees it. */
export interface RawConn {
  /** The parsed request head; the body is left unread. */
  readonly head: RawRequestHead;
  /** Aborts when the origin closes, so scripts that wait can stop. */
  readonly signal: AbortSignal;
  /**
   * Reads the request body: Content-Length bytes, or a de-chunked chunked
   * body, or nothing. Only for small test bodies.
   */
  readBody(): Promise<Uint8Array>;
  /** Writes bytes (a string is UTF-8 encoded). */
  write(data: string | Uint8Array): Promise<void>;
  /** Closes the connection gracefully (FIN); safe to call twice. */
  close(): void;
  /**
   * Drops the connection at once, wherever the response is. See the module
   * notes: the peer sees an early end of stream, not necessarily an RST.
   */
  reset(): void;
}

/** A script answers one connection. */
export type RawScript = (conn: RawConn) => Promise<void>;

/**
 * A raw TCP origin on 127.0.0.1 (port 0) that answers every connection with
 * one script.
 *
 * @example
 * ```ts ignore
 * const origin = RawOrigin.start(shortBody(100, 10));
 * const res = await rawRequest(origin.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
 * assertEquals(res.complete, false);
 * await origin.close();
 * ```
 */
export class RawOrigin implements AsyncDisposable {
  /** The port the listener got. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request head received, in order. */
  readonly requests: RawRequestHead[] = [];
  /**
   * Errors thrown by scripts or while reading heads (e.g. a peer that went
   * away). Kept, not thrown, so a test can decide whether they matter.
   */
  readonly errors: unknown[] = [];

  #listener: Deno.Listener;
  #script: RawScript;
  #conns = new Set<Deno.Conn>();
  #handlers = new Set<Promise<void>>();
  #closing = new AbortController();
  #acceptLoop: Promise<void>;

  private constructor(listener: Deno.Listener, script: RawScript) {
    this.#listener = listener;
    this.#script = script;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.url = `http://127.0.0.1:${this.port}`;
    this.#acceptLoop = this.#accept();
  }

  /** Starts listening; `script` runs once per connection. */
  static start(script: RawScript): RawOrigin {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new RawOrigin(listener, script);
  }

  /** Stops listening, closes open connections and waits for every script. */
  async close(): Promise<void> {
    this.#closing.abort();
    closeQuietly(this.#listener);
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#acceptLoop;
    await Promise.all(this.#handlers);
  }
  /** `await using origin = RawOrigin.start(...)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      this.#conns.add(conn);
      const handler = this.#handle(conn).finally(() => {
        this.#conns.delete(conn);
        this.#handlers.delete(handler);
      });
      this.#handlers.add(handler);
    }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    try {
      const reader = new ByteReader(conn);
      const rawHead = await reader.readUntil(CRLF_CRLF, MAX_HEAD_BYTES);
      if (rawHead === null) return; // the peer connected and left
      const head = parseRequestHead(decoder.decode(rawHead));
      this.requests.push(head);
      await this.#script(
        new ScriptConn(conn, reader, head, this.#closing.signal),
      );
    } catch (error) {
      this.errors.push(error);
    } finally {
      closeQuietly(conn);
    }
  }
}

class ScriptConn implements RawConn {
  readonly head: RawRequestHead;
  readonly signal: AbortSignal;
  #conn: Deno.Conn;
  #reader: ByteReader;

  constructor(
    conn: Deno.Conn,
    reader: ByteReader,
    head: RawRequestHead,
    signal: AbortSignal,
  ) {
    this.#conn = conn;
    this.#reader = reader;
    this.head = head;
    this.signal = signal;
  }

  async readBody(): Promise<Uint8Array> {
    const find = (name: string) =>
      this.head.headers.find(([key]) => key.toLowerCase() === name)?.[1];
    if (find("transfer-encoding")?.toLowerCase().includes("chunked")) {
      return await this.#readChunkedBody();
    }
    return await this.#reader.readExact(Number(find("content-length") ?? 0));
  }

  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  close(): void {
    closeQuietly(this.#conn);
  }

  reset(): void {
    closeQuietly(this.#conn);
  }

  async #readChunkedBody(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    while (true) {
      const sizeLine = await this.#reader.readUntil(CRLF, 1024);
      if (sizeLine === null) break;
      const size = parseInt(decoder.decode(sizeLine), 16);
      if (!(size > 0)) {
        await this.#reader.readUntil(CRLF, MAX_HEAD_BYTES); // empty trailers
        break;
      }
      parts.push(await this.#reader.readExact(size));
      await this.#reader.readExact(2);
    }
    return concat(...parts);
  }
}

function parseRequestHead(raw: string): RawRequestHead {
  const [requestLine, ...lines] = raw.slice(0, -4).split("\r\n");
  const [method = "", target = ""] = requestLine.split(" ");
  return { method, target, headers: parseHeaderLines(lines), raw };
}

/**
 * Declares `declared` bytes of Content-Length, sends only `sent` bytes of
 * `x`, then closes: a short body.
 *
 * @example
 * ```ts ignore
 * const origin = RawOrigin.start(shortBody(1000, 10));
 * ```
 */
export function shortBody(declared: number, sent: number): RawScript {
  return async function shortBodyScript(conn) {
    await conn.write(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" +
        `Content-Length: ${declared}\r\n\r\n` + "x".repeat(sent),
    );
    conn.close();
  };
}

/**
 * Starts a chunked response, sends `chunksBeforeReset` chunks (each the line
 * `chunk <i>\n`), then drops the connection without the final 0-size chunk.
 *
 * @example
 * ```ts ignore
 * const origin = RawOrigin.start(resetMidChunked(2));
 * ```
 */
export function resetMidChunked(chunksBeforeReset: number): RawScript {
  return async function resetMidChunkedScript(conn) {
    await conn.write(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
    );
    for (let i = 0; i < chunksBeforeReset; i++) {
      const data = `chunk ${i}\n`;
      await conn.write(`${data.length.toString(16)}\r\n${data}\r\n`);
    }
    conn.reset();
  };
}

/**
 * Answers with exactly these header lines (no CRLF, e.g. `"X-A: 1"`) and
 * body. The status line is `HTTP/1.1 <status>`; `Content-Length` is added
 * unless a line already sets Content-Length or Transfer-Encoding, in which
 * case the body is written as given (chunk it yourself).
 *
 * @example
 * ```ts ignore
 * const origin = RawOrigin.start(withHeaders(["Content-Type: text/plain", "X-Case: Kept"], "hi"));
 * ```
 */
export function withHeaders(
  rawHeaderLines: string[],
  body: string | Uint8Array = "",
  status = "200 OK",
): RawScript {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const framed = rawHeaderLines.some((line) =>
    /^(content-length|transfer-encoding)\s*:/i.test(line)
  );
  const lines = framed
    ? rawHeaderLines
    : [...rawHeaderLines, `Content-Length: ${bytes.length}`];
  const head = `HTTP/1.1 ${status}\r\n${lines.join("\r\n")}\r\n\r\n`;
  return async function withHeadersScript(conn) {
    await conn.write(concat(encoder.encode(head), bytes));
    conn.close();
  };
}

/**
 * Sends `200` headers of a chunked `text/event-stream` response and then
 * nothing: the LLM-provider failure where the answer starts and stalls. With
 * `firstChunkAfter`, sends one chunk (`data: first\n\n`) once that promise
 * settles, then stalls again. The connection stays open until the origin
 * closes.
 *
 * @example
 * ```ts ignore
 * const origin = RawOrigin.start(headersThenStall());
 * ```
 */
export function headersThenStall(
  firstChunkAfter?: Promise<unknown>,
): RawScript {
  return async function headersThenStallScript(conn) {
    await conn.write(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
    );
    const closed = new Promise((resolve) =>
      conn.signal.addEventListener("abort", resolve, { once: true })
    );
    if (firstChunkAfter !== undefined) {
      await Promise.race([firstChunkAfter, closed]);
      if (conn.signal.aborted) return;
      const data = "data: first\n\n";
      await conn.write(`${data.length.toString(16)}\r\n${data}\r\n`);
    }
    await closed;
  };
}

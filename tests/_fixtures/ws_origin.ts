/**
 * A WebSocket origin for the gateway's tests, on `Deno.serve` (127.0.0.1,
 * port 0), plus a raw-TCP one ({@linkcode droppingOrigin}) whose sockets end
 * without a close frame.
 *
 * | path | behaviour |
 * | --- | --- |
 * | `/echo` | echoes every message (text stays text, binary stays binary); subprotocol: the first offered of `chat.v2`, `chat.v1`, or `?protocol=` |
 * | `/greet` | sends `hello` at once, then echoes |
 * | `/close?code=4001&reason=bye` | closes with that code on the first message (no `code`: a close frame without one) |
 * | `/send?bytes=N` | sends one binary message of N bytes on the first message |
 * | `/flood?count=N&bytes=M` | on the first message, sends N binary messages of M bytes back to back |
 * | `/refuse?status=403` | refuses: that status, `x-refused: yes`, body `refused` |
 * | `/slow?ms=1000` | accepts after `ms` (or gives up when the client left) |
 *
 * Every handshake request is recorded ({@linkcode WsOrigin.handshakes}) and
 * every close the origin saw ({@linkcode WsOrigin.nextClose}).
 *
 * @module
 */

import { RawOrigin } from "./raw_origin.ts";

/** A close as the origin saw it. */
export interface OriginClose {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** A handshake as the origin received it. */
export interface OriginHandshake {
  path: string;
  search: string;
  headers: Headers;
}

const SUPPORTED = ["chat.v2", "chat.v1"];

export class WsOrigin {
  readonly url: string;
  readonly handshakes: OriginHandshake[] = [];
  readonly #closes: OriginClose[] = [];
  #closeWaiters: (() => void)[] = [];
  readonly #server: Deno.HttpServer;
  readonly #open = new Set<WebSocket>();

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#handle(request),
    );
    this.url = `http://127.0.0.1:${(this.#server.addr as Deno.NetAddr).port}`;
  }

  static start(): WsOrigin {
    return new WsOrigin();
  }

  /** Resolves with the next close not yet taken (bounded wait). */
  nextClose(timeoutMs = 5_000): Promise<OriginClose> {
    return new Promise((resolve, reject) => {
      const take = () => {
        const close = this.#closes.shift();
        if (close === undefined) return false;
        clearTimeout(timer);
        resolve(close);
        return true;
      };
      const timer = setTimeout(() => {
        this.#closeWaiters = this.#closeWaiters.filter((w) => w !== wake);
        reject(new Error("the origin saw no close in time"));
      }, timeoutMs);
      const wake = () => {
        if (take()) {
          this.#closeWaiters = this.#closeWaiters.filter((w) => w !== wake);
        }
      };
      if (!take()) this.#closeWaiters.push(wake);
    });
  }

  /** Sockets the origin still has open. */
  get openSockets(): number {
    return this.#open.size;
  }

  async close(): Promise<void> {
    for (const socket of this.#open) socket.close(1001, "origin closing");
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const params = url.searchParams;
    this.handshakes.push({
      path: url.pathname,
      search: url.search,
      // A copy: the request's own headers are gone once it is answered.
      headers: new Headers(request.headers),
    });
    if (url.pathname === "/refuse") {
      return new Response("refused", {
        status: Number(params.get("status") ?? 403),
        headers: { "x-refused": "yes" },
      });
    }
    if (url.pathname === "/slow") {
      const ms = Number(params.get("ms") ?? 1000);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        request.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (request.signal.aborted) return new Response(null, { status: 499 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("not a websocket request", { status: 426 });
    }
    const offered = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim()).filter((p) => p !== "");
    const protocol = params.get("protocol") ??
      SUPPORTED.find((p) => offered.includes(p));
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      protocol === undefined ? {} : { protocol },
    );
    socket.binaryType = "arraybuffer";
    this.#open.add(socket);
    this.#script(url, socket);
    socket.addEventListener("close", (event) => {
      this.#open.delete(socket);
      this.#closes.push({
        code: event.code,
        reason: event.reason,
        wasClean: event.wasClean,
      });
      for (const wake of [...this.#closeWaiters]) wake();
    });
    return response;
  }

  #script(url: URL, socket: WebSocket): void {
    const params = url.searchParams;
    let first = true;
    if (url.pathname === "/greet") {
      socket.addEventListener("open", () => socket.send("hello"));
    }
    socket.addEventListener("message", (event) => {
      const wasFirst = first;
      first = false;
      switch (url.pathname) {
        case "/close":
          if (params.has("code")) {
            socket.close(
              Number(params.get("code")),
              params.get("reason") ?? "",
            );
          } else socket.close(); // a close frame without a code: 1005

          return;
        case "/send":
          if (wasFirst) {
            socket.send(new Uint8Array(Number(params.get("bytes"))));
          }
          return;
        case "/flood":
          if (wasFirst) {
            const bytes = new Uint8Array(Number(params.get("bytes") ?? 65536));
            const count = Number(params.get("count") ?? 100);
            for (let i = 0; i < count && socket.readyState === 1; i++) {
              socket.send(bytes);
            }
          }
          return;
        default:
          socket.send(event.data);
      }
    });
  }
}

/**
 * A raw-TCP origin that accepts the WebSocket handshake, sends one text
 * frame `hello`, then closes the connection without a close frame.
 */
export function droppingOrigin(): RawOrigin {
  return RawOrigin.start(async (conn) => {
    const key = conn.head.headers.find(([name]) =>
      name.toLowerCase() === "sec-websocket-key"
    )?.[1] ?? "";
    await conn.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
          key,
        )}\r\n\r\n`,
    );
    // FIN, text opcode, unmasked, 5 bytes.
    await conn.write(
      new Uint8Array([0x81, 5, ...new TextEncoder().encode("hello")]),
    );
    // TCP closes; no close frame ever comes.
    conn.close();
  });
}

/** `Sec-WebSocket-Accept` for `key` (RFC 6455 §4.2.2). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

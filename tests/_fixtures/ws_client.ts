/**
 * A real WebSocket client (Deno's) with bounded waits, for tests: messages
 * are queued as they arrive and taken with {@linkcode TestSocket.next}.
 *
 * @module
 */

/** A close as the client saw it. */
export interface ClientClose {
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface TestSocket {
  readonly socket: WebSocket;
  /** The next message (string or ArrayBuffer), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<string | ArrayBuffer>;
  /** Resolves when the socket closed. */
  readonly closed: Promise<ClientClose>;
}

/**
 * Opens a socket to `url` (`http:` becomes `ws:`); rejects if it does not
 * open within `timeoutMs` or fails to.
 */
export function openSocket(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
  timeoutMs = 5_000,
): Promise<TestSocket> {
  const socket = new WebSocket(url.replace(/^http/, "ws"), {
    protocols: options.protocols ?? [],
    headers: options.headers ?? {},
  });
  socket.binaryType = "arraybuffer";
  const messages: (string | ArrayBuffer)[] = [];
  let wake: (() => void) | null = null;
  socket.addEventListener("message", (event) => {
    messages.push(event.data);
    wake?.();
  });
  const closed = new Promise<ClientClose>((resolve) =>
    socket.addEventListener("close", (event) => {
      resolve({
        code: event.code,
        reason: event.reason,
        wasClean: event.wasClean,
      });
      wake?.();
    })
  );
  const next = async (waitMs = 5_000): Promise<string | ArrayBuffer> => {
    const deadline = Date.now() + waitMs;
    while (messages.length === 0) {
      if (socket.readyState === WebSocket.CLOSED) {
        throw new Error("socket closed before a message came");
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no message in time");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      wake = null;
    }
    return messages.shift()!;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("socket did not open in time"));
    }, timeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      resolve({ socket, next, closed });
    });
    socket.addEventListener("close", () => {
      clearTimeout(timer);
      reject(new Error("socket closed before it opened"));
    });
  });
}

/** A raw upgrade request for `path` (a valid handshake unless overridden). */
export function upgradeRequest(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): string {
  const all: Record<string, string> = {
    host: "gateway.test",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== "").map(([k, v]) =>
    `${k}: ${v}\r\n`
  );
  return `${method} ${path} HTTP/1.1\r\n${lines.join("")}\r\n`;
}

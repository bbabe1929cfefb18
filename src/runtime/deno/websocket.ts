/**
 * WebSockets on Deno: `Deno.upgradeWebSocket` toward the client, Deno's
 * WebSocket client toward the upstream.
 *
 * What Deno's client allows shapes two differences from Workers:
 * - A refused handshake is reported as an error event naming the status
 *   ("Invalid status code: 403"); the refusal's headers and body are not
 *   exposed, so the client gets that status with an empty body.
 * - A client-role socket may only send close codes 1000 and 3000–4999;
 *   another code passed on toward the upstream (1001 from a browser tab
 *   closing, 1008/1009/1011 from the gateway) goes as 1000 with its reason.
 *
 * @module
 */

import type {
  RelaySocket,
  UpstreamHandshake,
  UpstreamSocketRequest,
  WebSocketRuntime,
} from "../../websocket/socket.ts";

const REFUSED = /Invalid status code:? (\d{3})/;

/** The Deno implementation of {@linkcode WebSocketRuntime}. */
export const denoWebSocketRuntime: WebSocketRuntime = {
  seesConnectionHeader: true,
  connect: connectUpstream,
  accept(request, protocol, headers) {
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      protocol === "" ? {} : { protocol },
    );
    socket.binaryType = "arraybuffer";
    for (const [name, value] of headers) response.headers.set(name, value);
    return { socket, response };
  },
};

function connectUpstream(
  request: UpstreamSocketRequest,
): Promise<UpstreamHandshake> {
  const { signal } = request;
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ kind: "failed" });
    let socket: WebSocket;
    try {
      // http(s): → ws(s):
      socket = new WebSocket(`ws${request.url.slice(4)}`, {
        protocols: request.protocols,
        headers: request.headers,
      });
    } catch {
      return resolve({ kind: "failed" });
    }
    socket.binaryType = "arraybuffer";
    let refusedStatus: number | null = null;
    const settle = (handshake: UpstreamHandshake) => {
      signal.removeEventListener("abort", onAbort);
      socket.onopen = socket.onerror = socket.onclose = null;
      resolve(handshake);
    };
    const onAbort = () => {
      settle({ kind: "failed" });
      socket.close();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.onopen = () =>
      settle({
        kind: "open",
        socket: clientRoleSocket(socket),
        protocol: socket.protocol,
      });
    socket.onerror = (event) => {
      const status = (event as ErrorEvent).message?.match(REFUSED)?.[1];
      if (status !== undefined) refusedStatus = Number(status);
    };
    socket.onclose = () =>
      settle(
        refusedStatus === null
          ? { kind: "failed" }
          : { kind: "refused", status: refusedStatus, response: null },
      );
  });
}

/**
 * Deno's client socket, with close codes it may not send turned into 1000.
 * Messages that arrive before the relay listens are held for its first
 * `message` listener: Deno may dispatch a message the upstream sent right
 * after its 101 before the code awaiting the open event has run.
 */
function clientRoleSocket(socket: WebSocket): RelaySocket {
  let held: MessageEvent[] | null = [];
  const hold = (event: MessageEvent) => held?.push(event);
  socket.addEventListener("message", hold);
  return {
    get readyState() {
      return socket.readyState;
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    send: (data) => socket.send(data),
    close(code = 1000, reason) {
      const sendable = code === 1000 || (code >= 3000 && code <= 4999);
      socket.close(sendable ? code : 1000, reason);
    },
    addEventListener(type: string, listener: (event: never) => void) {
      socket.addEventListener(type, listener as EventListener);
      if (type !== "message" || held === null) return;
      socket.removeEventListener("message", hold);
      const early = held;
      held = null;
      for (const event of early) {
        (listener as (event: MessageEvent) => void)(event);
      }
    },
  } as RelaySocket;
}

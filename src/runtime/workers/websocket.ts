/**
 * WebSockets on Cloudflare Workers: the upstream socket comes from `fetch`
 * with `Upgrade: websocket` (its `webSocket`, accepted), the client's from a
 * `WebSocketPair` whose other end goes back in the 101 response. The gateway
 * relays between the two (not a plain pass-through of the upstream's socket)
 * so that `maxMessageBytes`, `idleMs`, counters and the access-log line at
 * close apply as on Deno.
 *
 * Differences from Deno: a refusal comes back whole (status, headers and
 * body); any sendable close code goes upstream as is; workerd sockets have
 * no `bufferedAmount`, so the relay's queue bound cannot see them and
 * workerd's own buffering applies; and workerd removes `Connection` before
 * the Worker runs, so the handshake check cannot look at it.
 *
 * @module
 */

import type {
  RelaySocket,
  UpstreamHandshake,
  UpstreamSocketRequest,
  WebSocketRuntime,
} from "../../websocket/socket.ts";

/** workerd's WebSocket: the WHATWG one plus `accept()`. */
interface WorkersWebSocket extends RelaySocket {
  accept(): void;
  /** With recent compatibility dates binary messages arrive as `Blob` unless this says otherwise. */
  binaryType: "blob" | "arraybuffer";
}

/** Accepts a workerd socket for relaying: binary messages as ArrayBuffer, as on Deno. */
function acceptForRelay(socket: WorkersWebSocket): WorkersWebSocket {
  socket.accept();
  socket.binaryType = "arraybuffer";
  return socket;
}

/** workerd's global `WebSocketPair` (not in the web types). */
type WebSocketPairConstructor = new () => {
  0: WorkersWebSocket;
  1: WorkersWebSocket;
};

/** workerd's extensions of `Response` and `ResponseInit`. */
interface WorkersUpgradeResponse extends Response {
  webSocket: WorkersWebSocket | null;
}
interface WorkersResponseInit extends ResponseInit {
  webSocket: WorkersWebSocket;
}

/** The Workers implementation of {@linkcode WebSocketRuntime}. */
export const workersWebSocketRuntime: WebSocketRuntime = {
  seesConnectionHeader: false,
  connect: connectUpstream,
  accept(_request, protocol, headers) {
    const Pair = (globalThis as unknown as {
      WebSocketPair: WebSocketPairConstructor;
    }).WebSocketPair;
    const pair = new Pair();
    const [client, server] = [pair[0], acceptForRelay(pair[1])];
    const responseHeaders = new Headers(headers);
    if (protocol !== "") {
      responseHeaders.set("sec-websocket-protocol", protocol);
    }
    const init: WorkersResponseInit = {
      status: 101,
      headers: responseHeaders,
      webSocket: client,
    };
    return { socket: server, response: new Response(null, init) };
  },
};

async function connectUpstream(
  request: UpstreamSocketRequest,
): Promise<UpstreamHandshake> {
  const headers: [string, string][] = [
    ...request.headers,
    ["upgrade", "websocket"],
  ];
  if (request.protocols.length > 0) {
    headers.push(["sec-websocket-protocol", request.protocols.join(", ")]);
  }
  let response: WorkersUpgradeResponse;
  try {
    response = await fetch(request.url, {
      headers,
      signal: request.signal,
    }) as WorkersUpgradeResponse;
  } catch {
    return { kind: "failed" };
  }
  const socket = response.webSocket;
  if (response.status !== 101 || socket === null || socket === undefined) {
    return { kind: "refused", status: response.status, response };
  }
  return {
    kind: "open",
    socket: acceptForRelay(socket),
    protocol: response.headers.get("sec-websocket-protocol") ?? "",
  };
}

/**
 * What the runtime-neutral WebSocket relay needs from a runtime: an open
 * socket on each side, a way to open one toward the upstream, and a way to
 * accept the client's. Deno (`src/runtime/deno/websocket.ts`) and Workers
 * (`src/runtime/workers/websocket.ts`) implement {@linkcode WebSocketRuntime}.
 *
 * @module
 */

/** The part of a WHATWG `WebSocket` the relay uses (Deno's and workerd's both fit). */
export interface RelaySocket {
  /** `0` connecting, `1` open, `2` closing, `3` closed. */
  readonly readyState: number;
  /**
   * Bytes queued by `send` and not yet handed to the network; `undefined`
   * where the runtime does not say (workerd).
   */
  readonly bufferedAmount?: number;
  /** Sends one message. */
  send(data: string | ArrayBuffer): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** The socket opened. */
  addEventListener(type: "open", listener: () => void): void;
  /** A message arrived. */
  addEventListener(
    type: "message",
    listener: (event: { data: unknown }) => void,
  ): void;
  /** The socket closed. */
  addEventListener(
    type: "close",
    listener: (
      event: { code: number; reason: string; wasClean: boolean },
    ) => void,
  ): void;
}

/** What the gateway asks of the upstream when it opens a socket there. */
export interface UpstreamSocketRequest {
  /** `http(s)://…` as configured; the runtime switches the scheme as it needs. */
  url: string;
  /** The client's offered subprotocols, in its order. */
  protocols: string[];
  /** End-to-end headers to send (hop-by-hop and `Sec-WebSocket-*` already removed). */
  headers: [string, string][];
  /** Aborted when the handshake took too long or the client left. */
  signal: AbortSignal;
}

/** How the upstream handshake went. */
export type UpstreamHandshake =
  /** 101: the socket is open; `protocol` is the upstream's choice ("" for none). */
  | { kind: "open"; socket: RelaySocket; protocol: string }
  /**
   * Any other answer. `response` is the upstream's own where the runtime
   * gives it (Workers); Deno's WebSocket client reports only the status.
   */
  | { kind: "refused"; status: number; response: Response | null }
  /** No answer: connection failure, or `signal` aborted first. */
  | { kind: "failed" };

/** A runtime's WebSocket support. */
export interface WebSocketRuntime {
  /**
   * Whether the client's `Connection` header reaches the gateway: workerd
   * removes it before the worker runs, so it cannot be checked there.
   */
  readonly seesConnectionHeader: boolean;
  /** Opens the upstream socket; resolves once the upstream answered, or failed. */
  connect(request: UpstreamSocketRequest): Promise<UpstreamHandshake>;
  /**
   * Accepts the client's upgrade: the socket toward the client (possibly
   * still connecting; it opens once `response` went out) and the 101
   * response to return. `protocol` is the subprotocol to confirm ("" none).
   */
  accept(
    request: Request,
    protocol: string,
    headers: [string, string][],
  ): { socket: RelaySocket; response: Response };
}

/**
 * Relays messages between two open WebSockets, runtime-neutral: in order,
 * text stays text and binary stays binary, with the route's limits applied
 * and every close turned into a meaningful one on the other side.
 *
 * Backpressure: the WebSocket API has no way to stop receiving (neither
 * Deno's nor workerd's socket can be paused), so the relay cannot slow a fast
 * sender down. What Deno does expose is `bufferedAmount` on the sending
 * side: bytes accepted by `send` not yet written to the network. The relay
 * checks it before every send; past `maxQueuedBytes` the receiving side is
 * not keeping up, and both sides are closed with 1008 rather than queueing
 * without limit. (workerd has no `bufferedAmount`; there the runtime's own
 * limits apply.)
 *
 * @module
 */

import type { Clock } from "../resilience/clock.ts";
import { idleWatchdog } from "../resilience/idle_watchdog.ts";
import {
  GOING_AWAY,
  INTERNAL_ERROR,
  MESSAGE_TOO_BIG,
  POLICY_VIOLATION,
  wireCloseCode,
} from "./close_codes.ts";
import type { RelaySocket } from "./socket.ts";

/** Who ended the socket. */
export type ClosedBy = "client" | "upstream" | "gateway";

/** Why the gateway ended a socket itself. */
export type GatewayCloseCause =
  | "idle"
  | "message_too_big"
  | "backpressure"
  | "shutdown";

/** What one relayed socket did, for its access-log line and metrics. */
export interface RelaySummary {
  /** Messages client → upstream. */
  messagesIn: number;
  /** Messages upstream → client. */
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** The code the closing side reported (as sent on, 1005/1006 mapped). */
  closeCode: number;
  closedBy: ClosedBy;
  /** Set when `closedBy` is `"gateway"`. */
  cause: GatewayCloseCause | null;
}

/** Options for {@linkcode relayWebSocket}. */
export interface RelayOptions {
  client: RelaySocket;
  upstream: RelaySocket;
  clock: Clock;
  maxMessageBytes: number;
  /** Silence both ways after which both sides get 1001. */
  idleMs: number;
  /** Bound on a side's `bufferedAmount` before the relay gives up on it. */
  maxQueuedBytes: number;
  /**
   * How long to wait, after sending a close on, for the other side's own
   * close before counting the socket as done anyway.
   */
  closeGraceMs: number;
  /** Called per relayed message (metrics). */
  onMessage?(direction: "in" | "out", bytes: number): void;
  /** Called once, when both sides are closed (or the close grace ran out). */
  onClose(summary: RelaySummary): void;
}

/** A running relay. */
export interface Relay {
  /** Closes both sides from the gateway's end (shutdown); a no-op once closing. */
  close(code: number, reason: string, cause: GatewayCloseCause): void;
}

/** Socket states of the WHATWG API. */
const CONNECTING = 0, OPEN = 1;

/**
 * Starts relaying between `client` and `upstream` (the client's socket may
 * still be connecting: what the upstream sends meanwhile waits for it, within
 * `maxQueuedBytes`).
 *
 * @example
 * ```ts ignore
 * const relay = relayWebSocket({ client, upstream, clock, maxMessageBytes: 1 << 20,
 *   idleMs: 300_000, maxQueuedBytes: 4 << 20, closeGraceMs: 5_000,
 *   onClose: (summary) => log(summary) });
 * relay.close(1001, "gateway shutting down", "shutdown");
 * ```
 */
export function relayWebSocket(options: RelayOptions): Relay {
  const { client, upstream, clock, maxMessageBytes, maxQueuedBytes } = options;
  const summary: RelaySummary = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    closeCode: 0,
    closedBy: "gateway",
    cause: null,
  };
  /** Upstream messages that arrived before the client's socket opened. */
  let early: (string | ArrayBuffer)[] | null = client.readyState === CONNECTING
    ? []
    : null;
  let earlyBytes = 0;
  /** A close for the client's socket that came while it was still connecting. */
  let clientCloseOnOpen: [number, string] | null = null;
  let closing = false;
  const open = { client: true, upstream: true };
  let cancelGrace = () => {};
  let done = false;
  const watchdog = idleWatchdog(
    clock,
    options.idleMs,
    () => closeBoth(GOING_AWAY, "idle timeout", "idle"),
  );

  function finish(): void {
    if (done) return;
    done = true;
    watchdog.stop();
    cancelGrace();
    options.onClose(summary);
  }

  function closeSide(socket: RelaySocket, code: number, reason: string): void {
    if (socket === client && early !== null) {
      // Sent once the client's socket opened, after what came before it.
      clientCloseOnOpen = [code, reason];
      return;
    }
    try {
      socket.close(code, reason);
    } catch {
      // already closed: its close event reports it
    }
  }

  /** The first close decides the summary; the other side gets it passed on. */
  function startClosing(closedBy: ClosedBy, code: number): void {
    closing = true;
    summary.closedBy = closedBy;
    summary.closeCode = code;
    watchdog.stop();
    cancelGrace = clock.setTimeout(finish, options.closeGraceMs);
  }

  function closeBoth(code: number, reason: string, cause: GatewayCloseCause) {
    if (closing) return;
    startClosing("gateway", code);
    summary.cause = cause;
    closeSide(client, code, reason);
    closeSide(upstream, code, reason);
  }

  function relay(
    data: unknown,
    to: RelaySocket,
    direction: "in" | "out",
  ): void {
    if (closing) return;
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) return;
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (bytes > maxMessageBytes) {
      closeBoth(MESSAGE_TOO_BIG, "message too big", "message_too_big");
      return;
    }
    watchdog.touch();
    if (direction === "in") {
      summary.messagesIn++;
      summary.bytesIn += bytes;
    } else {
      summary.messagesOut++;
      summary.bytesOut += bytes;
    }
    options.onMessage?.(direction, bytes);
    if (early !== null && to === client) {
      earlyBytes += bytes;
      if (earlyBytes > maxQueuedBytes) tooSlow();
      else early.push(data);
      return;
    }
    if ((to.bufferedAmount ?? 0) + bytes > maxQueuedBytes) {
      tooSlow();
      return;
    }
    try {
      to.send(data);
    } catch {
      // the socket is closing: its close event follows
    }
  }

  function tooSlow(): void {
    closeBoth(POLICY_VIOLATION, "peer not reading fast enough", "backpressure");
  }

  function onClosed(side: "client" | "upstream") {
    const other = side === "client" ? upstream : client;
    return (event: { code: number; reason: string; wasClean: boolean }) => {
      open[side] = false;
      if (!closing) {
        const code = wireCloseCode(event.code, event.wasClean);
        startClosing(side, code);
        const dropped = code === INTERNAL_ERROR && !event.wasClean;
        closeSide(
          other,
          code,
          dropped ? `${side} connection lost` : event.reason,
        );
      }
      if (!open.client && !open.upstream) finish();
    };
  }

  client.addEventListener("open", () => {
    const queued = early ?? [];
    early = null;
    for (const data of queued) {
      if (client.readyState !== OPEN) break;
      client.send(data);
    }
    if (clientCloseOnOpen !== null) closeSide(client, ...clientCloseOnOpen);
  });
  client.addEventListener("message", (e) => relay(e.data, upstream, "in"));
  upstream.addEventListener("message", (e) => relay(e.data, client, "out"));
  client.addEventListener("close", onClosed("client"));
  upstream.addEventListener("close", onClosed("upstream"));

  return {
    close(code, reason, cause) {
      closeBoth(code, reason, cause);
    },
  };
}

/**
 * Bytes of `text` in UTF-8, without encoding it (a lone surrogate counts 3,
 * as the encoder replaces it with U+FFFD).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./relay.ts";
 * assert.equal(utf8Length("héllo €😀"), new TextEncoder().encode("héllo €😀").length);
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair (2 units) is 4 bytes
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

import assert from "node:assert/strict";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import {
  type RelaySummary,
  relayWebSocket,
} from "../../../src/websocket/relay.ts";
import type { RelaySocket } from "../../../src/websocket/socket.ts";

type Listener = (event: never) => void;

/** An in-memory socket: records what the relay sends and closes; tests fire its events. */
class FakeSocket implements RelaySocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: (string | ArrayBuffer)[] = [];
  closedWith: [number, string] | null = null;
  readonly #listeners = new Map<string, Listener[]>();

  constructor(state = 1) {
    this.readyState = state;
  }
  send(data: string | ArrayBuffer): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(data);
  }
  close(code = 1000, reason = ""): void {
    this.closedWith ??= [code, reason];
    this.readyState = 2;
  }
  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  fire(type: string, event: unknown = {}): void {
    if (type === "open") this.readyState = 1;
    if (type === "close") this.readyState = 3;
    for (const listener of this.#listeners.get(type) ?? []) {
      (listener as (event: unknown) => void)(event);
    }
  }
}

function start(options: { clientState?: number; idleMs?: number } = {}) {
  const clock = new FakeClock();
  const client = new FakeSocket(options.clientState);
  const upstream = new FakeSocket();
  const summaries: RelaySummary[] = [];
  const relay = relayWebSocket({
    client,
    upstream,
    clock,
    maxMessageBytes: 10,
    idleMs: options.idleMs ?? 1_000,
    maxQueuedBytes: 20,
    closeGraceMs: 500,
    onClose: (summary) => summaries.push(summary),
  });
  return { clock, client, upstream, summaries, relay };
}

Deno.test("relay: messages both ways, a client close passed on, summary once both sides closed", () => {
  const { client, upstream, summaries } = start();
  const bytes = new Uint8Array([1, 2]).buffer;
  client.fire("message", { data: "hé" });
  upstream.fire("message", { data: bytes });
  assert.deepEqual(upstream.sent, ["hé"]);
  assert.deepEqual(client.sent, [bytes]);
  client.fire("close", { code: 4000, reason: "bye", wasClean: true });
  assert.deepEqual(upstream.closedWith, [4000, "bye"]);
  assert.equal(summaries.length, 0);
  upstream.fire("close", { code: 4000, reason: "bye", wasClean: true });
  assert.deepEqual(summaries, [{
    messagesIn: 1,
    messagesOut: 1,
    bytesIn: 3,
    bytesOut: 2,
    closeCode: 4000,
    closedBy: "client",
    cause: null,
  }]);
});

Deno.test("relay: 1005 becomes 1000, an abnormal close 1011", () => {
  const a = start();
  a.upstream.fire("close", { code: 1005, reason: "", wasClean: true });
  assert.deepEqual(a.client.closedWith, [1000, ""]);
  const b = start();
  b.upstream.fire("close", { code: 0, reason: "", wasClean: false });
  assert.deepEqual(b.client.closedWith, [1011, "upstream connection lost"]);
  const c = start();
  c.client.fire("close", { code: 1006, reason: "", wasClean: false });
  assert.deepEqual(c.upstream.closedWith, [1011, "client connection lost"]);
});

Deno.test("relay: too big is 1009 both sides; the queue bound is 1008", () => {
  const a = start();
  a.client.fire("message", { data: "x".repeat(11) });
  assert.deepEqual(a.client.closedWith, [1009, "message too big"]);
  assert.deepEqual(a.upstream.closedWith, [1009, "message too big"]);
  assert.deepEqual(a.upstream.sent, []);
  const b = start();
  b.client.bufferedAmount = 15;
  b.upstream.fire("message", { data: "x".repeat(6) });
  assert.deepEqual(b.client.closedWith, [1008, "peer not reading fast enough"]);
});

Deno.test("relay: idleMs of silence both ways closes with 1001; traffic either way resets it; the grace ends a close nobody answers", () => {
  const { clock, client, upstream, summaries } = start({ idleMs: 1_000 });
  clock.advance(900);
  upstream.fire("message", { data: "tick" });
  clock.advance(900);
  assert.equal(client.closedWith, null);
  clock.advance(100);
  assert.deepEqual(client.closedWith, [1001, "idle timeout"]);
  assert.deepEqual(upstream.closedWith, [1001, "idle timeout"]);
  assert.equal(summaries.length, 0);
  clock.advance(500);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0].cause, "idle");
  assert.equal(clock.pending(), 0);
});

Deno.test("relay: what the upstream sends before the client's socket opens, and its close, wait for the open", () => {
  const { client, upstream } = start({ clientState: 0 });
  upstream.fire("message", { data: "hello" });
  upstream.fire("close", { code: 4001, reason: "done", wasClean: true });
  assert.deepEqual(client.sent, []);
  assert.equal(client.closedWith, null);
  client.fire("open");
  assert.deepEqual(client.sent, ["hello"]);
  assert.deepEqual(client.closedWith, [4001, "done"]);
});

Deno.test("relay: close() from the gateway (shutdown) is 1001 to both, cause shutdown", () => {
  const { client, upstream, relay, summaries } = start();
  relay.close(1001, "gateway shutting down", "shutdown");
  assert.deepEqual(client.closedWith, [1001, "gateway shutting down"]);
  client.fire("close", { code: 1001, reason: "", wasClean: true });
  upstream.fire("close", { code: 1000, reason: "", wasClean: true });
  assert.equal(summaries[0].closedBy, "gateway");
  assert.equal(summaries[0].cause, "shutdown");
});

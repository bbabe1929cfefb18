/**
 * `deno task bench websocket`: WebSocket messages through the gateway
 * against the same echo origin directly. One socket each; round trips of
 * 64-byte text messages one at a time (latency), then a stream of them with
 * up to 64 in flight (throughput). Short on purpose: a few seconds in all.
 * Prints a Markdown table to stdout; progress goes to stderr.
 *
 * @module
 */
import { startGateway } from "./gateway.ts";
import { ProcessGroup, readListeningPort } from "./processes.ts";

const ROUND_TRIPS = 2_000;
const STREAMED = 20_000;
const IN_FLIGHT = 64;
const PAYLOAD = "x".repeat(64);

/** What one target measured. */
export interface WebSocketFigures {
  p50Ms: number;
  p99Ms: number;
  messagesPerSecond: number;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error(`Cannot open ${url}`));
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Round trips one at a time, then a windowed stream, over one socket. */
export async function measureSocket(url: string): Promise<WebSocketFigures> {
  const socket = await open(url);
  let onMessage = () => {};
  socket.onmessage = () => onMessage();
  const rtts: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      onMessage = resolve;
      socket.send(PAYLOAD);
    });
    rtts.push(performance.now() - started);
  }
  rtts.sort((a, b) => a - b);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0, received = 0;
    const top = () => {
      while (sent < STREAMED && sent - received < IN_FLIGHT) {
        socket.send(PAYLOAD);
        sent++;
      }
    };
    onMessage = () => {
      received++;
      if (received === STREAMED) resolve();
      else top();
    };
    top();
  });
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  await new Promise((resolve) => socket.onclose = resolve);
  return {
    p50Ms: quantile(rtts, 0.5),
    p99Ms: quantile(rtts, 0.99),
    messagesPerSecond: STREAMED / seconds,
  };
}

/** Starts the echo origin and a gateway, measures both paths, prints the table. */
export async function runWebSocketBench(): Promise<void> {
  const group = new ProcessGroup();
  try {
    const origin = group.spawn("ws echo origin", Deno.execPath(), [
      "run",
      "-A",
      new URL("./servers/ws_echo.ts", import.meta.url).pathname,
    ], { cpus: null });
    const originPort = await readListeningPort(origin, 30_000);
    const gateway = await startGateway(group, originPort, null);
    console.error("bench websocket: direct");
    const direct = await measureSocket(`ws://127.0.0.1:${originPort}/`);
    console.error("bench websocket: through the gateway");
    const proxied = await measureSocket(`ws://127.0.0.1:${gateway.port}/`);
    const row = (name: string, f: WebSocketFigures) =>
      `| ${name} | ${f.p50Ms.toFixed(3)} | ${f.p99Ms.toFixed(3)} | ${
        Math.round(f.messagesPerSecond)
      } |`;
    console.log(
      [
        `WebSocket, one socket, ${PAYLOAD.length}-byte text messages (${ROUND_TRIPS} round trips; ${STREAMED} streamed, ${IN_FLIGHT} in flight)`,
        "",
        "| path | round trip p50 ms | p99 ms | messages/s (echoed) |",
        "| --- | --- | --- | --- |",
        row("direct", direct),
        row("through the gateway", proxied),
        "",
        `Added per message (p50 round trip): ${
          (proxied.p50Ms - direct.p50Ms).toFixed(3)
        } ms; throughput ${
          (100 * proxied.messagesPerSecond / direct.messagesPerSecond).toFixed(
            0,
          )
        } % of direct.`,
      ].join("\n"),
    );
  } finally {
    await group.stopAll();
  }
}

if (import.meta.main) await runWebSocketBench();

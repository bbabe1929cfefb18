import assert from "node:assert/strict";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import {
  streamBack,
  type StreamBackOptions,
} from "../../../src/pipeline/stream_back.ts";
import { Exchange } from "../../../src/pipeline/exchange.ts";
import {
  ClientGone,
  ClientStalled,
  UpstreamTimeout,
} from "../../../src/pipeline/abort_reasons.ts";

const IDLE_MS = 1000;
const CLIENT_IDLE_MS = 3000;

/**
 * An upstream body that always has a chunk ready (when `ready`) or else
 * waits, like a fetch body, until the attempt is aborted; `cancelled`
 * records how it ended.
 */
function upstream(controller: AbortController, ready: boolean) {
  const cancelled: unknown[] = [];
  const body = new ReadableStream<Uint8Array>({
    pull(out) {
      if (ready) return out.enqueue(new Uint8Array(16));
      return new Promise<void>((resolve) => {
        controller.signal.addEventListener("abort", () => {
          out.error(controller.signal.reason);
          resolve();
        }, { once: true });
      });
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  }, { highWaterMark: 0 });
  return { response: new Response(body), cancelled };
}

/**
 * Streams `response` back with a fake clock; records how the exchange ended.
 * `runtime` plays what Deno.serve provides: its `completed` promise and its
 * native pipe (by default neither: every body is relayed).
 */
function relay(
  response: Response,
  controller: AbortController,
  runtime: Pick<StreamBackOptions, "nativePipe" | "minBytesPerSecond"> & {
    completed?: Promise<void>;
  } = { minBytesPerSecond: null },
) {
  const clock = new FakeClock();
  const ended: number[] = [];
  const exchange = new Exchange(
    new Request("http://gw.test/stream"),
    "id",
    { address: "127.0.0.1", trusted: false, proto: "http" },
    "127.0.0.1",
    clock.now(),
    (_exchange, status) => ended.push(status),
  );
  exchange.completed = runtime.completed;
  let done = 0;
  const client = streamBack(response, exchange, {
    clock,
    idleMs: IDLE_MS,
    clientIdleMs: CLIENT_IDLE_MS,
    abort: (reason) => controller.abort(reason),
    signal: controller.signal,
    done: () => done++,
    headers: {},
    compression: null,
    heartbeatMs: null,
    minBytesPerSecond: runtime.minBytesPerSecond,
    nativePipe: runtime.nativePipe,
  });
  return { clock, exchange, ended, client, done: () => done };
}

Deno.test("a client that takes nothing for clientIdleMs while a chunk waits is taken as gone", async () => {
  // workerd, when a failed write is how it learns the client left, neither
  // fires request.signal nor cancels the body: it just stops pulling.
  const controller = new AbortController();
  const { response, cancelled } = upstream(controller, true);
  const { clock, exchange, ended, client, done } = relay(response, controller);
  const reader = client.body!.getReader();
  assert.equal((await reader.read()).value?.byteLength, 16);
  clock.advance(CLIENT_IDLE_MS - 1);
  assert.equal(done(), 0, "a client not reading is no idle upstream");
  clock.advance(1);
  assert.ok(controller.signal.reason instanceof ClientGone);
  assert.equal(done(), 1);
  assert.deepEqual(ended, [200]);
  assert.deepEqual(exchange.flags, ["CD"]);
  assert.equal(cancelled.length, 1, "the upstream body was cancelled");
  // It may still be connected: its response must not look complete.
  await assert.rejects(reader.read(), ClientStalled);
});

Deno.test("a client that left gets its stream closed, not errored (workerd logs an errored body as uncaught)", async () => {
  const controller = new AbortController();
  const { response, cancelled } = upstream(controller, true);
  const { exchange, ended, client, done } = relay(response, controller);
  const reader = client.body!.getReader();
  assert.equal((await reader.read()).done, false);
  controller.abort(new ClientGone()); // the request signal's abort event
  assert.equal(done(), 1);
  assert.deepEqual(ended, [200]);
  assert.deepEqual(exchange.flags, ["CD"]);
  assert.equal(cancelled.length, 1, "the upstream body was cancelled");
  assert.equal((await reader.read()).done, true);
});

Deno.test("a client that reads with pauses below clientIdleMs is never cut", async () => {
  const controller = new AbortController();
  const { response } = upstream(controller, true);
  const { clock, client, done } = relay(response, controller);
  const reader = client.body!.getReader();
  for (let i = 0; i < 5; i++) {
    clock.advance(CLIENT_IDLE_MS - 1);
    assert.equal((await reader.read()).done, false);
  }
  assert.equal(done(), 0);
  await reader.cancel();
  assert.equal(done(), 1);
});

Deno.test("an upstream silent for idleMs while the client waits is an idle timeout", async () => {
  const controller = new AbortController();
  const { response } = upstream(controller, false);
  const { clock, exchange, client, done } = relay(response, controller);
  const reader = client.body!.getReader();
  const read = reader.read();
  await Promise.resolve(); // the client's read reaches the upstream
  clock.advance(IDLE_MS);
  await assert.rejects(read, UpstreamTimeout);
  assert.equal(controller.signal.reason.kind, "idle");
  assert.equal(done(), 1);
  assert.deepEqual(exchange.flags, ["IT"]);
});

for (const aborted of [false, true]) {
  Deno.test(`a body of known length goes to the native pipe only while its exchange runs (aborted: ${aborted})`, async () => {
    const controller = new AbortController();
    if (aborted) controller.abort(new UpstreamTimeout("total"));
    const taken: ReadableStream[] = [];
    let sent!: () => void;
    const completed = new Promise<void>((resolve) => sent = resolve);
    const response = new Response("0123456789", {
      headers: { "content-length": "10" },
    });
    const { client, done } = relay(response, controller, {
      completed,
      minBytesPerSecond: 16_384,
      nativePipe: {
        take(body) {
          taken.push(body);
          return () => {};
        },
      },
    });
    // Taken: the runtime would pipe it; relayed: the stream ends at the read.
    assert.equal(taken.length, aborted ? 0 : 1);
    await client.body?.cancel();
    sent();
    await completed;
    assert.equal(done(), 1);
  });
}

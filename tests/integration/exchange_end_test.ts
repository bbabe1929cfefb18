/**
 * The end of an exchange is certain even where the runtime runs no more of
 * its JavaScript once the client left. Under workerd a client disconnect
 * fires `request.signal` and then tears the request's context down: no
 * `cancel()` reaches the response stream, a pending upstream read never
 * settles and timers stop (seen under `wrangler dev`, see
 * docs/streaming.md). These tests play that runtime: they abort the
 * request's signal and from then on neither read, cancel nor wait on the
 * pending work — the permit, the access-log line and the disconnect counter
 * must all be settled by the time the abort event has been dispatched.
 */
import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate_config.ts";
import { createGateway, type Gateway } from "../../src/gateway.ts";
import { Origin } from "../_fixtures/origin.ts";

function gatewayFor(originUrl: string, upstreamFetch?: typeof fetch) {
  const result = validateConfig({
    routes: [{
      name: "test",
      path: "/api/*",
      upstreams: [originUrl],
      stripPrefix: "/api",
      policy: { retry: { retries: 0 }, bulkhead: { maxConcurrent: 1 } },
    }],
  }, () => undefined);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  const logs: Record<string, unknown>[] = [];
  const gateway = createGateway({
    config: result.config,
    logSink: (line) => logs.push(JSON.parse(line)),
    fetch: upstreamFetch,
  });
  return { gateway, logs };
}

/** What must hold once a client that left has been dealt with. */
function assertEnded(
  gateway: Gateway,
  logs: Record<string, unknown>[],
  status: number,
): void {
  assert.equal(gateway.inflight, 0, "exchange still in flight");
  const access = logs.filter((line) => line.msg === "access");
  assert.equal(access.length, 1, "one access-log line");
  assert.equal(access[0].status, status);
  assert.match(String(access[0].flags), /CD/);
  const metrics = gateway.metrics.render([]);
  assert.match(metrics, /^gateway_inflight\{route="test"\} 0$/m);
  assert.match(
    metrics,
    /^gateway_client_disconnects_total\{route="test"\} 1$/m,
  );
}

Deno.test("a client leaving mid-stream ends the exchange within the abort event", async () => {
  const origin = await Origin.start();
  const { gateway, logs } = gatewayFor(origin.url);
  const client = new AbortController();
  try {
    const response = await gateway.fetch(
      new Request("http://gw.test/api/stream?chunks=1000&interval=50", {
        signal: client.signal,
      }),
    );
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    assert.equal((await reader.read()).done, false);
    // The runtime asks for the next chunk, then the client is gone.
    const pending = reader.read();
    client.abort();
    assertEnded(gateway, logs, 200);
    // Closed, not errored: nobody is left to see how it ends, and workerd
    // would log an errored body as an uncaught exception.
    assert.equal((await pending).done, true);
    assert.equal(await origin.nextCancel(), "/stream");
  } finally {
    await gateway.close();
    await origin.close();
  }
});

Deno.test("a client leaving before the headers ends the exchange within the abort event", async () => {
  // An upstream whose answer comes only after the test has looked, as if
  // nothing ran after the abort (under workerd it never comes).
  let requested!: () => void;
  const arrived = new Promise<void>((resolve) => requested = resolve);
  let answer!: (error: Error) => void;
  const heldBack: typeof fetch = () => {
    requested();
    return new Promise<Response>((_, reject) => answer = reject);
  };
  const { gateway, logs } = gatewayFor("http://127.0.0.1:9", heldBack);
  const client = new AbortController();
  try {
    const responded = gateway.fetch(
      new Request("http://gw.test/api/slow", { signal: client.signal }),
    );
    await arrived;
    client.abort();
    assertEnded(gateway, logs, 499);
    answer(new DOMException("aborted", "AbortError"));
    assert.equal((await responded).status, 499);
    assertEnded(gateway, logs, 499); // and nothing counted twice
  } finally {
    await gateway.close();
  }
});

Deno.test("waitUntil holds the request's context until the exchange has ended", async () => {
  const origin = await Origin.start();
  const { gateway } = gatewayFor(origin.url);
  const kept: Promise<unknown>[] = [];
  let ended = false;
  try {
    const response = await gateway.fetch(
      new Request("http://gw.test/api/stream?chunks=3&interval=10"),
      { waitUntil: (promise) => kept.push(promise.then(() => ended = true)) },
    );
    assert.equal(kept.length, 1);
    const reader = response.body!.getReader();
    assert.equal((await reader.read()).done, false);
    await Promise.resolve();
    assert.equal(ended, false, "released while the body still streams");
    while (!(await reader.read()).done);
    await kept[0];
    assert.equal(ended, true);
  } finally {
    await gateway.close();
    await origin.close();
  }
});

/**
 * `sse.heartbeatMs`: a quiet `text/event-stream` gets `:` comment lines, only
 * between events, never inside one; the upstream's silence still ends the
 * stream at `idleMs`; other types never get heartbeats.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { header, openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import { headersThenStall, RawOrigin } from "../_fixtures/raw_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";
import { streamingDecoder } from "../_fixtures/streaming_decoder.ts";

const GET_CLOSE = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;

/**
 * Reads a whole event stream, decoding it as it comes; returns the text and
 * where each heartbeat began.
 */
async function readEventStream(port: number, path: string, extra = "") {
  const conn = await openRaw(port);
  try {
    await conn.write(GET_CLOSE(path, extra));
    const head = await conn.readHead();
    const decoder = streamingDecoder(header(head, "content-encoding"));
    let text = "";
    for (let i = 0; i < 10_000; i++) {
      const chunk = await conn.readChunk();
      if (chunk === null) break;
      text += await decoder.decode(chunk);
    }
    decoder.close();
    const heartbeats: number[] = [];
    for (let at = text.indexOf(":\n\n"); at !== -1;) {
      heartbeats.push(at);
      at = text.indexOf(":\n\n", at + 3);
    }
    return { head, text, heartbeats, complete: conn.complete };
  } finally {
    conn.close();
  }
}

for (const acceptEncoding of ["", "Accept-Encoding: br\r\n"]) {
  Deno.test(`heartbeats fill the silences between events, never inside one${acceptEncoding ? " (br)" : ""}`, async () => {
    const origin = await Origin.start();
    const gw = await startTestGateway(routeConfig([origin.url], {
      policy: { sse: { heartbeatMs: 60 } },
    }));
    try {
      // Each event is split by a 250 ms silence inside it, and events are
      // 250 ms apart: both silences are longer than heartbeatMs.
      const { head, text, heartbeats, complete } = await readEventStream(
        gw.port,
        "/api/sse?events=3&inside=250&between=250",
        acceptEncoding,
      );
      assert.equal(head.status, 200);
      assert.ok(complete);
      if (acceptEncoding) assert.equal(header(head, "content-encoding"), "br");
      // Between the three events (two gaps): heartbeats.
      assert.ok(heartbeats.length >= 2, `only ${heartbeats.length} heartbeats`);
      for (const at of heartbeats) {
        const before = text.slice(0, at);
        assert.ok(
          before === "" || before.endsWith("\n\n"),
          `a heartbeat inside an event, after ${
            JSON.stringify(before.slice(-30))
          }`,
        );
      }
      // The events themselves arrive whole and in order.
      const events = text.replaceAll(":\n\n", "").split("\n\n").filter(Boolean);
      assert.deepEqual(
        events.map((event) => JSON.parse(event.split("data: ")[1]).seq),
        [0, 1, 2],
      );
    } finally {
      await gw.close();
      await origin.close();
    }
  });
}

Deno.test("heartbeats do not keep a silent upstream alive past idleMs", async () => {
  // One event, then silence for good.
  const broken = RawOrigin.start(headersThenStall(Promise.resolve()));
  const gw = await startTestGateway(routeConfig([broken.url], {
    policy: { sse: { heartbeatMs: 50 }, timeouts: { idleMs: 400 } },
  }));
  try {
    const { text, heartbeats, complete } = await readEventStream(
      gw.port,
      "/api/sse",
    );
    assert.equal(complete, false, "the stream must end abnormally");
    assert.ok(text.startsWith("data: first\n\n"));
    assert.ok(heartbeats.length >= 3, `only ${heartbeats.length} heartbeats`);
    const line = await gw.waitForAccessLog(() => true);
    assert.match(String(line.flags), /IT/);
  } finally {
    await gw.close();
    await broken.close();
  }
});

Deno.test("heartbeats are for event streams only, and off by default", async () => {
  const origin = await Origin.start();
  const on = await startTestGateway(routeConfig([origin.url], {
    policy: { sse: { heartbeatMs: 30 } },
  }));
  const off = await startTestGateway(routeConfig([origin.url]));
  try {
    // text/plain with a 300 ms silence after its first line.
    const plain = await rawRequest(on.port, GET_CLOSE("/api/stall?ms=300"));
    assert.equal(new TextDecoder().decode(plain.body), "stall 0\n");
    const quiet = await readEventStream(
      off.port,
      "/api/sse?events=2&between=300",
    );
    assert.equal(quiet.heartbeats.length, 0);
  } finally {
    await on.close();
    await off.close();
    await origin.close();
  }
});

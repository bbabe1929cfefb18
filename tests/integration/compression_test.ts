/**
 * `compression`: compressible bodies without `Content-Encoding` are gzip- or
 * br-encoded for clients that accept it (q-values honoured), streams stay
 * live through the encoder, and everything else passes as it is.
 */
import assert from "node:assert/strict";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { jsonRecords, Origin } from "../_fixtures/origin.ts";
import { header, openRaw, rawRequest } from "../_fixtures/raw_client.ts";
import { RawOrigin, withHeaders } from "../_fixtures/raw_origin.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";
import { streamingDecoder } from "../_fixtures/streaming_decoder.ts";

const GET_CLOSE = (path: string, acceptEncoding?: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n` +
  (acceptEncoding === undefined
    ? ""
    : `Accept-Encoding: ${acceptEncoding}\r\n`) +
  "Connection: close\r\n\r\n";

const decode = { gzip: gunzipSync, br: brotliDecompressSync };

Deno.test("a 100 KB JSON body is compressed with the client's best coding", async () => {
  const origin = await Origin.start();
  const gw = await startTestGateway(routeConfig([origin.url]));
  const plain = new Uint8Array(await jsonRecords(102_400).arrayBuffer());
  try {
    for (
      const [accept, expected] of [
        ["gzip, deflate, br", "br"],
        ["gzip", "gzip"],
        ["br;q=0.5, gzip;q=0.8", "gzip"],
        ["x-gzip", "gzip"],
        ["*", "br"],
        ["br;q=0, *;q=0.1", "gzip"],
      ] as const
    ) {
      const res = await rawRequest(gw.port, GET_CLOSE("/api/json", accept));
      assert.equal(res.status, 200);
      assert.equal(header(res, "content-encoding"), expected, accept);
      assert.equal(header(res, "vary"), "Accept-Encoding");
      assert.equal(header(res, "content-length"), undefined);
      assert.ok(res.complete);
      assert.ok(res.body.length < plain.length / 4, `${res.body.length} bytes`);
      assert.deepEqual(new Uint8Array(decode[expected](res.body)), plain);
    }
  } finally {
    await gw.close();
    await origin.close();
  }
});

Deno.test("bodies go as they are when the client, the type, the size or the policy says so", async () => {
  const origin = await Origin.start();
  const on = await startTestGateway(routeConfig([origin.url]));
  const off = await startTestGateway(routeConfig([origin.url], {
    policy: { compression: false },
  }));
  try {
    const cases: [number, string, string | undefined, string | undefined][] = [
      // [gateway port, path, Accept-Encoding, Vary expected]
      [on.port, "/api/json", undefined, "Accept-Encoding"],
      [on.port, "/api/json", "identity", "Accept-Encoding"],
      [on.port, "/api/json", "gzip;q=0, br;q=0", "Accept-Encoding"],
      [on.port, "/api/json", "*;q=0", "Accept-Encoding"],
      [on.port, "/api/json?bytes=500", "gzip, br", undefined], // < minBytes
      [on.port, "/api/big?bytes=100000", "gzip, br", undefined], // octet-stream
      [off.port, "/api/json", "gzip, br", undefined],
    ];
    for (const [port, path, accept, vary] of cases) {
      const res = await rawRequest(port, GET_CLOSE(path, accept));
      const what = `${path} for ${accept}`;
      assert.equal(res.status, 200, what);
      assert.equal(header(res, "content-encoding"), undefined, what);
      assert.equal(header(res, "vary"), vary, what);
      assert.equal(header(res, "content-length"), String(res.body.length));
    }
    // Already encoded by the upstream: its bytes, untouched.
    const gzip = await rawRequest(on.port, GET_CLOSE("/api/gzip", "br, gzip"));
    assert.equal(header(gzip, "content-encoding"), "gzip");
    assert.deepEqual(gzip.body, origin.gzipBytes);
  } finally {
    await on.close();
    await off.close();
    await origin.close();
  }
});

Deno.test("no-transform is respected, Vary is merged and a strong ETag turns weak", async () => {
  const body = "x".repeat(4096);
  const noTransform = RawOrigin.start(withHeaders(
    ["Content-Type: text/plain", "Cache-Control: public, no-transform"],
    body,
  ));
  const tagged = RawOrigin.start(withHeaders(
    ["Content-Type: text/html", 'ETag: "v1"', "Vary: Origin"],
    body,
  ));
  const gw = await startTestGateway({
    routes: [
      { name: "a", path: "/a/*", upstreams: [noTransform.url] },
      { name: "b", path: "/b/*", upstreams: [tagged.url] },
    ],
  });
  try {
    const kept = await rawRequest(gw.port, GET_CLOSE("/a/x", "gzip"));
    assert.equal(header(kept, "content-encoding"), undefined);
    assert.equal(new TextDecoder().decode(kept.body), body);
    const res = await rawRequest(gw.port, GET_CLOSE("/b/x", "gzip"));
    assert.equal(header(res, "content-encoding"), "gzip");
    assert.equal(header(res, "vary"), "Origin, Accept-Encoding");
    assert.equal(header(res, "etag"), 'W/"v1"');
    assert.equal(new TextDecoder().decode(gunzipSync(res.body)), body);
  } finally {
    await gw.close();
    await noTransform.close();
    await tagged.close();
  }
});

for (const encoding of ["gzip", "br"] as const) {
  Deno.test(`a ${encoding} stream stays live: each chunk decodes to whole lines as it arrives`, async () => {
    const origin = await Origin.start();
    const gw = await startTestGateway(routeConfig([origin.url]));
    const conn = await openRaw(gw.port);
    try {
      await conn.write(
        GET_CLOSE("/api/stream?chunks=5&interval=150", encoding),
      );
      const head = await conn.readHead();
      assert.equal(header(head, "content-encoding"), encoding);
      const decoder = streamingDecoder(encoding);
      const lines: { madeAt: number; arrivedAt: number }[] = [];
      for (let i = 0; i < 100; i++) {
        const chunk = await conn.readChunk();
        if (chunk === null) break;
        const arrivedAt = performance.now();
        const text = await decoder.decode(chunk);
        // A flushed chunk holds whole lines, never a line's first half.
        assert.ok(text === "" || text.endsWith("\n"), JSON.stringify(text));
        for (const line of text.split("\n").filter(Boolean)) {
          lines.push({ madeAt: JSON.parse(line).t, arrivedAt });
        }
      }
      decoder.close();
      assert.ok(conn.complete);
      assert.equal(lines.length, 5);
      // Each line reached the client before the origin made the next one.
      for (let i = 0; i + 1 < lines.length; i++) {
        assert.ok(
          lines[i].arrivedAt < lines[i + 1].madeAt,
          `line ${i} arrived after line ${i + 1} was made: held in the encoder`,
        );
      }
    } finally {
      conn.close();
      await gw.close();
      await origin.close();
    }
  });
}

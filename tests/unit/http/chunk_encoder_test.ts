import assert from "node:assert/strict";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { createChunkEncoder } from "../../../src/http/chunk_encoder.ts";
import { streamingDecoder } from "../../_fixtures/streaming_decoder.ts";

const encoder = new TextEncoder();

for (const encoding of ["gzip", "br"] as const) {
  Deno.test(`${encoding}: every encoded chunk decodes at once to exactly that chunk`, async () => {
    const chunkEncoder = createChunkEncoder(encoding);
    const decoder = streamingDecoder(encoding);
    const sent: string[] = [];
    const wire: Uint8Array[] = [];
    try {
      for (const size of [1, 9, 120, 4096, 70_000, 300_000]) {
        const text = Array.from(
          { length: size },
          (_, i) => "abcdefghij\n"[(i * 7 + size) % 11],
        ).join("");
        const out = await chunkEncoder.encode(encoder.encode(text));
        wire.push(out);
        sent.push(text);
        assert.equal(await decoder.decode(out), text, `${size} bytes`);
      }
      wire.push(await chunkEncoder.finish());
    } finally {
      decoder.close();
    }
    const whole = new Uint8Array(wire.reduce((n, part) => n + part.length, 0));
    let offset = 0;
    for (const part of wire) {
      whole.set(part, offset);
      offset += part.length;
    }
    const decode = encoding === "gzip" ? gunzipSync : brotliDecompressSync;
    assert.equal(new TextDecoder().decode(decode(whole)), sent.join(""));
  });
}

Deno.test("destroy frees an encoder mid-body", async () => {
  const chunkEncoder = createChunkEncoder("gzip");
  await chunkEncoder.encode(encoder.encode("partial"));
  chunkEncoder.destroy();
});

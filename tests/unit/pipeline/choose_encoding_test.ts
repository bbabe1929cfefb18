import assert from "node:assert/strict";
import type { CompressionPolicy } from "../../../src/config/types.ts";
import type { HeaderRecord } from "../../../src/http/header_record.ts";
import { chooseEncoding } from "../../../src/pipeline/choose_encoding.ts";

const POLICY: CompressionPolicy = { encodings: ["br", "gzip"], minBytes: 1024 };
const accepts = (value: string | null) => () => value;

Deno.test("partial, bodiless-by-status and already encoded responses are never compressed", () => {
  for (const status of [204, 206, 304]) {
    const headers: HeaderRecord = { "content-type": "text/plain" };
    assert.equal(
      chooseEncoding(POLICY, accepts("gzip"), status, headers),
      null,
    );
    assert.deepEqual(headers, { "content-type": "text/plain" });
  }
  const encoded: HeaderRecord = {
    "content-type": "application/json",
    "content-encoding": "deflate",
  };
  assert.equal(chooseEncoding(POLICY, accepts("gzip"), 200, encoded), null);
  assert.equal(Object.keys(encoded).length, 2);
});

Deno.test("Accept-Encoding is read only for bodies worth compressing", () => {
  let asked = 0;
  const counting = () => {
    asked++;
    return "gzip";
  };
  chooseEncoding(POLICY, counting, 200, { "content-type": "image/png" });
  chooseEncoding(POLICY, counting, 200, {
    "content-type": "text/plain",
    "content-length": "10",
  });
  assert.equal(asked, 0);
  const streamed: HeaderRecord = { "content-type": "text/event-stream" };
  assert.equal(chooseEncoding(POLICY, counting, 200, streamed), "gzip");
  assert.equal(asked, 1);
});

Deno.test("Vary keeps what the upstream said: * stays *, a listed Accept-Encoding is not repeated", () => {
  for (const vary of ["*", "accept-encoding", "Origin, Accept-Encoding"]) {
    const headers: HeaderRecord = { "content-type": "text/html", vary };
    assert.equal(chooseEncoding(POLICY, accepts("br"), 200, headers), "br");
    assert.deepEqual(headers, {
      "content-type": "text/html",
      vary,
      "content-encoding": "br",
    });
  }
});

Deno.test("a compressed body loses Content-Length, a strong ETag turns weak, no-transform is obeyed", () => {
  const headers: HeaderRecord = {
    "content-type": "application/json",
    "content-length": "4096",
    etag: '"v1"',
    vary: "Origin",
  };
  assert.equal(chooseEncoding(POLICY, accepts("gzip"), 200, headers), "gzip");
  assert.deepEqual(headers, {
    "content-type": "application/json",
    etag: 'W/"v1"',
    vary: "Origin, Accept-Encoding",
    "content-encoding": "gzip",
  });
  const kept: HeaderRecord = {
    "content-type": "application/json",
    "cache-control": "public, No-Transform",
  };
  assert.equal(chooseEncoding(POLICY, accepts("gzip"), 200, kept), null);
  assert.equal(kept.vary, undefined);
});

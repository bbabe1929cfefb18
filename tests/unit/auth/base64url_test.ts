import assert from "node:assert/strict";
import { decodeBase64Url } from "../../../src/auth/base64url.ts";
import { encodeBase64Url } from "../../_fixtures/base64url.ts";

Deno.test("base64url round-trips every length of bytes", () => {
  for (let length = 0; length < 40; length++) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 37 + 250) & 0xff);
    const text = encodeBase64Url(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(decodeBase64Url(text), bytes);
  }
});

Deno.test("decodeBase64Url refuses padding, the standard alphabet and impossible lengths", () => {
  assert.equal(decodeBase64Url("aGk="), null);
  assert.equal(decodeBase64Url("a+/b"), null);
  assert.equal(decodeBase64Url("abcde"), null);
  assert.equal(decodeBase64Url("ab cd"), null);
  assert.deepEqual(decodeBase64Url("_-8"), new Uint8Array([0xff, 0xef]));
});

import assert from "node:assert/strict";
import {
  constantTimeEqual,
  equalBytes,
  sha256,
} from "../../../src/auth/constant_time.ts";
import { createApiKeyCheck } from "../../../src/auth/api_keys.ts";

Deno.test("constantTimeEqual: equal strings, and strings differing anywhere or in length", async () => {
  assert.equal(await constantTimeEqual("s3cret-key", "s3cret-key"), true);
  assert.equal(await constantTimeEqual("", ""), true);
  assert.equal(await constantTimeEqual("s3cret-key", "S3cret-key"), false);
  assert.equal(await constantTimeEqual("s3cret-key", "s3cret-kez"), false);
  assert.equal(await constantTimeEqual("s3cret-key", "s3cret-key "), false);
  assert.equal(await constantTimeEqual("s3cret-key", ""), false);
  assert.equal(await constantTimeEqual("ключ", "ключ"), true);
});

Deno.test("equalBytes compares every byte and refuses different lengths", () => {
  assert.equal(
    equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])),
    true,
  );
  assert.equal(
    equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([0, 2, 3])),
    false,
  );
  assert.equal(
    equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])),
    false,
  );
  assert.equal(
    equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])),
    false,
  );
});

Deno.test("sha256 gives the standard digest", async () => {
  const digest = await sha256("abc");
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex,
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("createApiKeyCheck accepts each configured key and nothing else", async () => {
  const isValid = createApiKeyCheck(["key-one", "key-two", "ключ-3"]);
  assert.equal(await isValid("key-one"), true);
  assert.equal(await isValid("key-two"), true);
  assert.equal(await isValid("ключ-3"), true);
  assert.equal(await isValid("key-three"), false);
  assert.equal(await isValid("key-one "), false);
  assert.equal(await isValid(""), false);
});

Deno.test("createApiKeyCheck with no keys accepts nothing", async () => {
  const isValid = createApiKeyCheck([]);
  assert.equal(await isValid(""), false);
  assert.equal(await isValid("anything"), false);
});

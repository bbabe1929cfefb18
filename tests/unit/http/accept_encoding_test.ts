import assert from "node:assert/strict";
import { negotiateEncoding } from "../../../src/http/accept_encoding.ts";

const BOTH = ["br", "gzip"] as const;

Deno.test("the offered coding with the highest q wins; ties go to the gateway's order", () => {
  const cases: [string | null, "br" | "gzip" | null][] = [
    [null, null],
    ["", null],
    ["identity", null],
    ["deflate", null],
    ["gzip", "gzip"],
    ["GZIP", "gzip"],
    ["x-gzip", "gzip"],
    ["br", "br"],
    ["gzip, br", "br"],
    ["gzip;q=1, br;q=0.9", "gzip"],
    ["br;q=0.5,gzip;q=0.6", "gzip"],
    ["  br ; q=0.8 ,  gzip ; q=0.8 ", "br"],
    ["*", "br"],
    ["*;q=0.5, br;q=0.1", "gzip"],
    ["gzip;q=0, *", "br"],
    ["br;q=0, gzip;q=0", null],
    ["*;q=0", null],
    ["*;q=0, gzip", "gzip"],
    ["br;q=bogus, gzip;q=0.1", "gzip"],
    ["br;q=2", null],
    ["br;level=1;q=0.9, gzip;q=0.8", "br"],
  ];
  for (const [header, expected] of cases) {
    assert.equal(
      negotiateEncoding(header, [...BOTH]),
      expected,
      String(header),
    );
  }
});

Deno.test("only the codings the route offers are chosen, in its order", () => {
  assert.equal(negotiateEncoding("br, gzip", ["gzip"]), "gzip");
  assert.equal(negotiateEncoding("br", ["gzip"]), null);
  assert.equal(negotiateEncoding("br, gzip", ["gzip", "br"]), "gzip");
  assert.equal(negotiateEncoding("*", []), null);
});

import assert from "node:assert/strict";
import fc from "fast-check";
import { SseBoundary } from "../../../src/http/sse_boundary.ts";

/**
 * The reference: tokenise the whole text (CRLF is one line end) and count
 * trailing line ends; the start of the stream counts as a blank line.
 */
function endsAtBoundary(text: string): boolean {
  let trailing = 2;
  for (let i = 0; i < text.length;) {
    if (text[i] === "\r" && text[i + 1] === "\n") {
      trailing++;
      i += 2;
    } else if (text[i] === "\r" || text[i] === "\n") {
      trailing++;
      i++;
    } else {
      trailing = 0;
      i++;
    }
  }
  return trailing >= 2;
}

const encoder = new TextEncoder();

Deno.test("a boundary is a blank line, whatever the line ends and however the bytes were split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[a:\r\n]{0,6}$/), { maxLength: 12 }),
      (chunks) => {
        const boundary = new SseBoundary();
        let text = "";
        for (const chunk of chunks) {
          boundary.relayed(encoder.encode(chunk));
          text += chunk;
          assert.equal(
            boundary.atBoundary,
            endsAtBoundary(text),
            JSON.stringify(chunks),
          );
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("CRLF split across chunks counts once", () => {
  const boundary = new SseBoundary();
  for (const part of ["data: x\r", "\n", "\r"]) {
    boundary.relayed(encoder.encode(part));
  }
  assert.equal(boundary.atBoundary, true);
  const split = new SseBoundary();
  split.relayed(encoder.encode("data: x\r"));
  split.relayed(encoder.encode("\n"));
  assert.equal(split.atBoundary, false);
});

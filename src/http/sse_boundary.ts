/**
 * Tracks whether the bytes of an event stream relayed so far end at an event
 * boundary (a blank line: two line ends in a row, each LF, CR or CRLF), the
 * only place a heartbeat comment may go without splitting an event.
 * Nothing relayed yet is a boundary too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseBoundary } from "./sse_boundary.ts";
 *
 * const tail = new SseBoundary();
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * tail.relayed(bytes("data: a\n"));
 * assert.equal(tail.atBoundary, false);
 * tail.relayed(bytes("\n"));
 * assert.equal(tail.atBoundary, true);
 * tail.relayed(bytes("data: b\r\n\r"));
 * assert.equal(tail.atBoundary, true);
 * ```
 */
export class SseBoundary {
  /** Line ends at the end of what was relayed (CRLF counts once). */
  #lineEnds = 2;
  /** The last byte relayed was CR: an LF next completes that line end. */
  #lastWasCr = false;

  get atBoundary(): boolean {
    return this.#lineEnds >= 2;
  }

  /** Accounts for a chunk passed on to the client (reads only its tail of line ends). */
  relayed(chunk: Uint8Array): void {
    let start = chunk.length;
    while (start > 0 && (chunk[start - 1] === LF || chunk[start - 1] === CR)) {
      start--;
    }
    if (start > 0) {
      this.#lineEnds = 0;
      this.#lastWasCr = false;
    }
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF) {
        if (!this.#lastWasCr) this.#lineEnds++;
        this.#lastWasCr = false;
      } else if (byte === CR) {
        this.#lineEnds++;
        this.#lastWasCr = true;
      }
    }
  }
}

const LF = 10;
const CR = 13;

/**
 * A gzip or brotli encoder for a streamed body that flushes after every
 * chunk: the output of {@linkcode ChunkEncoder.encode} decodes to every byte
 * given so far, so a compressed stream is as live as a plain one. The web
 * `CompressionStream` has no flush and holds data until its buffer fills;
 * `node:zlib` flushes (Deno, and workerd with `nodejs_compat`: both checked
 * by the conformance suite).
 *
 * @module
 */

import {
  constants,
  createBrotliCompress,
  createGzip,
  type Gzip,
} from "node:zlib";
import type { Encoding } from "../config/types.ts";

/**
 * Levels for live streams, where every chunk is compressed as it passes:
 * gzip 6 (zlib's default) and brotli 4 cost a small fraction of the top
 * levels' CPU for a few percent more bytes; brotli 5 shrinks bulk JSON 10%
 * more for twice the CPU (numbers in docs/streaming.md, from
 * tests/bench/compression.ts). A 256 KiB brotli window (and zlib's 32 KiB)
 * keeps each open stream's memory small.
 */
export const GZIP_LEVEL = 6;
export const BROTLI_QUALITY = 4;
const BROTLI_WINDOW_BITS = 18;

/** Compresses one body, chunk by chunk. */
export interface ChunkEncoder {
  /** Compresses `chunk` and flushes: the result decodes to all input so far. */
  encode(chunk: Uint8Array): Promise<Uint8Array>;
  /** Ends the coding and returns its last bytes. */
  finish(): Promise<Uint8Array>;
  /** Frees the encoder without finishing (the body failed or was cancelled). */
  destroy(): void;
}

/**
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gunzipSync } from "node:zlib";
 * import { createChunkEncoder } from "./chunk_encoder.ts";
 *
 * const encoder = createChunkEncoder("gzip");
 * const first = await encoder.encode(new TextEncoder().encode("data: 1\n\n"));
 * const last = await encoder.finish();
 * const whole = new Uint8Array([...first, ...last]);
 * assert.equal(new TextDecoder().decode(gunzipSync(whole)), "data: 1\n\n");
 * ```
 */
export function createChunkEncoder(encoding: Encoding): ChunkEncoder {
  // Both are zlib transform streams; the brotli one shares Gzip's API.
  const stream: Gzip = encoding === "gzip"
    ? createGzip({ level: GZIP_LEVEL })
    : createBrotliCompress({
      params: {
        [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      },
    }) as unknown as Gzip;
  const flushKind = encoding === "gzip"
    ? constants.Z_SYNC_FLUSH
    : constants.BROTLI_OPERATION_FLUSH;
  let output: Uint8Array[] = [];
  let failure: Error | null = null;
  stream.on("data", (bytes: Uint8Array) => output.push(bytes));
  stream.on("error", (error: Error) => failure = error);
  // The output of everything written before the callback ran.
  const take = (): Uint8Array => {
    if (failure !== null) throw failure;
    const parts = output;
    output = [];
    return parts.length === 1 ? parts[0] : concat(parts);
  };
  return {
    encode(chunk) {
      return new Promise((resolve, reject) => {
        stream.write(chunk);
        stream.flush(flushKind, () => {
          try {
            resolve(take());
          } catch (error) {
            reject(error);
          }
        });
      });
    },
    finish() {
      return new Promise((resolve, reject) => {
        stream.end(() => {
          try {
            resolve(take());
          } catch (error) {
            reject(error);
          }
        });
      });
    },
    destroy() {
      stream.destroy();
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

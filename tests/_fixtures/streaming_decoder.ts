/**
 * The client side of a compressed stream: decodes gzip or br chunk by chunk
 * as they arrive, flushing the decoder after each one, so a test sees what
 * a browser's streaming decoder would show at that moment.
 *
 * @module
 */

import {
  constants,
  createBrotliDecompress,
  createGunzip,
  type Gunzip,
} from "node:zlib";

/** Decodes one response body, chunk by chunk. */
export interface StreamingDecoder {
  /** The text `chunk` completes, with everything before it already returned. */
  decode(chunk: Uint8Array): Promise<string>;
  /** Frees the decoder. */
  close(): void;
}

/**
 * A decoder for `Content-Encoding` `encoding` (`gzip`, `br`; anything else
 * passes bytes through as UTF-8).
 *
 * @example
 * ```ts ignore
 * const decoder = streamingDecoder(header(head, "content-encoding"));
 * for (let c; (c = await conn.readChunk()) !== null;) text += await decoder.decode(c);
 * decoder.close();
 * ```
 */
export function streamingDecoder(
  encoding: string | undefined | null,
): StreamingDecoder {
  const utf8 = new TextDecoder();
  if (encoding !== "gzip" && encoding !== "br") {
    return {
      decode: (chunk) => Promise.resolve(utf8.decode(chunk, { stream: true })),
      close() {},
    };
  }
  const stream: Gunzip = encoding === "gzip"
    ? createGunzip()
    : createBrotliDecompress() as unknown as Gunzip;
  const flushKind = encoding === "gzip"
    ? constants.Z_SYNC_FLUSH
    : constants.BROTLI_OPERATION_FLUSH;
  let text = "";
  let failure: Error | null = null;
  stream.on("data", (bytes: Uint8Array) => {
    text += utf8.decode(bytes, { stream: true });
  });
  stream.on("error", (error: Error) => failure = error);
  return {
    decode(chunk) {
      return new Promise((resolve, reject) => {
        stream.write(chunk);
        stream.flush(flushKind, () => {
          if (failure !== null) return reject(failure);
          const out = text;
          text = "";
          resolve(out);
        });
      });
    },
    close() {
      stream.destroy();
    },
  };
}

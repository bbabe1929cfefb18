import { GatewayError } from "../errors.ts";
import type { Exchange } from "./exchange.ts";

/** The request body as the attempts send it. */
export interface UpstreamBody {
  /** A fresh body for each attempt (the same stream for a non-replayable one). */
  take(): BodyInit | null;
  /** Whether a second attempt can send the body again. */
  readonly replayable: boolean;
  /** Set when a streamed body crossed `maxBodyBytes` (the attempt then failed). */
  readonly tooLarge: boolean;
}

/** The body of a bodiless request. */
export const NO_BODY: UpstreamBody = {
  take: () => null,
  replayable: true,
  tooLarge: false,
};

/** 413 `payload_too_large` for a route whose limit is `limit` bytes. */
export function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    413,
    "payload_too_large",
    `The request body is larger than this route accepts (${limit} bytes).`,
  );
}

/**
 * Applies `maxBodyBytes` and sets up replay for retries, without buffering
 * a body whole: a declared `Content-Length` over the limit is refused before
 * anything is read; a body that may be retried and fits `replayBufferBytes`
 * is kept (that, and only that, is buffered); every other body streams to the
 * upstream as it arrives, counted, and is cut off (the attempt aborted) the
 * moment it crosses the limit.
 */
export async function limitBody(
  request: Request,
  exchange: Exchange,
  maxBodyBytes: number | null,
  replayBufferBytes: number,
  wantReplay: boolean,
  /**
   * Ends a wait for a stalled upload (client gone, total deadline); asked
   * for only when the body is read here, so bodiless requests pay nothing.
   */
  abortSignal: () => AbortSignal,
): Promise<UpstreamBody> {
  const source = request.body;
  if (source === null) return NO_BODY;
  const declared = request.headers.get("content-length");
  const length = declared === null ? null : Number(declared);
  if (maxBodyBytes !== null && length !== null && length > maxBodyBytes) {
    throw tooLarge(maxBodyBytes);
  }
  const limit = maxBodyBytes ?? Infinity;
  const replay = wantReplay && (length === null || length <= replayBufferBytes);
  if (!replay && limit === Infinity && length !== null) {
    // Nothing to count or keep: hand the body to fetch untouched.
    exchange.bytesIn = length;
    return { take: () => source, replayable: false, tooLarge: false };
  }
  const reader = source.getReader();
  const prefix: Uint8Array[] = [];
  let prefixBytes = 0;

  if (replay) {
    const signal = abortSignal();
    // Read up to the replay buffer; a body that ends within it is kept whole.
    while (prefixBytes <= replayBufferBytes) {
      const { done, value } = await readOrAbort(reader, signal);
      if (done) {
        if (prefixBytes > limit) throw tooLarge(limit);
        exchange.bytesIn = prefixBytes;
        const whole = concat(prefix, prefixBytes);
        return { take: () => whole, replayable: true, tooLarge: false };
      }
      prefix.push(value);
      prefixBytes += value.byteLength;
      if (prefixBytes > limit) {
        await reader.cancel();
        throw tooLarge(limit);
      }
    }
  }
  return streamedBody(reader, prefix, prefixBytes, limit, exchange);
}

function streamedBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  prefix: Uint8Array[],
  prefixBytes: number,
  limit: number,
  exchange: Exchange,
): UpstreamBody {
  exchange.bytesIn = prefixBytes;
  const state = { tooLarge: false };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffered = prefix.shift();
      if (buffered !== undefined) {
        controller.enqueue(buffered);
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      exchange.bytesIn += value.byteLength;
      if (exchange.bytesIn > limit) {
        state.tooLarge = true;
        await reader.cancel();
        // Erroring the body aborts the upstream request: the upstream never
        // sees a complete-looking body over the limit.
        controller.error(tooLarge(limit));
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return {
    take: () => stream,
    replayable: false,
    get tooLarge() {
      return state.tooLarge;
    },
  };
}

function concat(
  chunks: Uint8Array[],
  total: number,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** `reader.read()`, or the signal's reason once it aborts (the read is cancelled). */
function readOrAbort(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reader.cancel(signal.reason).catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}

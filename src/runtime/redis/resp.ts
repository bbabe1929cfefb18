/**
 * RESP2, the Redis wire protocol, as far as the gateway's store needs it:
 * commands go out as arrays of bulk strings; replies are simple strings,
 * errors, integers, bulk strings and arrays (nested). Works on bytes, so a
 * reply split anywhere across socket reads parses once it is complete.
 *
 * @module
 */

/** A reply Redis sent as an error (`-ERR …`): the command failed, the connection is fine. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** One parsed reply. */
export type RedisReply =
  | string
  | number
  | null
  | RedisReplyError
  | RedisReply[];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;

/**
 * A command as RESP bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeCommand } from "./resp.ts";
 *
 * const bytes = encodeCommand(["GET", "k"]);
 * assert.equal(new TextDecoder().decode(bytes), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
 * ```
 */
export function encodeCommand(args: readonly (string | number)[]): Uint8Array {
  const parts = args.map((arg) => encoder.encode(String(arg)));
  const head = encoder.encode(`*${parts.length}\r\n`);
  const heads = parts.map((part) => encoder.encode(`$${part.length}\r\n`));
  let size = head.length;
  for (let i = 0; i < parts.length; i++) {
    size += heads[i].length + parts[i].length + 2;
  }
  const out = new Uint8Array(size);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < parts.length; i++) {
    out.set(heads[i], at);
    at += heads[i].length;
    out.set(parts[i], at);
    at += parts[i].length;
    out[at++] = CR;
    out[at++] = 10;
  }
  return out;
}

/** A parsed reply and where the next one starts; `undefined`: not all bytes are here yet. */
export type Parsed = { reply: RedisReply; next: number } | undefined;

/**
 * Parses the reply starting at `start` of `bytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReply } from "./resp.ts";
 *
 * const bytes = new TextEncoder().encode("*2\r\n:7\r\n$-1\r\n");
 * assert.deepEqual(parseReply(bytes, 0), { reply: [7, null], next: 13 });
 * assert.equal(parseReply(bytes.subarray(0, 9), 0), undefined);
 * ```
 */
export function parseReply(bytes: Uint8Array, start: number): Parsed {
  const lineEnd = bytes.indexOf(CR, start);
  if (lineEnd < 0 || lineEnd + 1 >= bytes.length) return undefined;
  const line = decoder.decode(bytes.subarray(start + 1, lineEnd));
  const afterLine = lineEnd + 2;
  switch (bytes[start]) {
    case 43: // +
      return { reply: line, next: afterLine };
    case 45: // -
      return { reply: new RedisReplyError(line), next: afterLine };
    case 58: // :
      return { reply: Number(line), next: afterLine };
    case 36: { // $
      const length = Number(line);
      if (length < 0) return { reply: null, next: afterLine };
      const end = afterLine + length;
      if (end + 2 > bytes.length) return undefined;
      return {
        reply: decoder.decode(bytes.subarray(afterLine, end)),
        next: end + 2,
      };
    }
    case 42: { // *
      const count = Number(line);
      if (count < 0) return { reply: null, next: afterLine };
      const items: RedisReply[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(bytes, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(
        `Cannot parse the Redis reply as its type byte is unknown: current value is ${
          bytes[start]
        }`,
      );
  }
}

/**
 * A small Redis client over `Deno.connect`: one pipelined connection,
 * commands answered in order, reconnection with backoff on the injected
 * clock.
 *
 * Why not an npm client (compared under `deno test --sanitize-ops
 * --sanitize-resources`, Deno 2.9.6): `ioredis` 5.11 and `redis`
 * (node-redis) 4.7 both pass the happy path, and both leak a reconnect timer
 * in an outage: ioredis when Redis is down at start and the client is
 * disconnected, node-redis when Redis dies under a connected client that is
 * then disconnected. Both run those timers on the global clock (the outage
 * tests could not drive them with the gateway's injected clock) and bring a
 * Node socket shim and a dependency tree (node-redis: 7 packages) for the
 * five commands the store sends (`MGET`, `EVALSHA`, `EVAL`, `AUTH`,
 * `SELECT`). This client owns no timer between calls: while Redis is down a
 * command fails at once until the backoff has passed, and the next command
 * after it tries to connect again. The store's callers call it at least once
 * per sync interval, which makes reconnection automatic.
 *
 * @module
 */

import type { Clock } from "../../resilience/clock.ts";
import {
  encodeCommand,
  parseReply,
  type RedisReply,
  RedisReplyError,
} from "./resp.ts";

export { type RedisReply, RedisReplyError };

/** Where and how to connect, from a `redis://` or `rediss://` URL. */
export interface RedisTarget {
  hostname: string;
  port: number;
  tls: boolean;
  username: string | null;
  password: string | null;
  db: number;
}

/**
 * Reads `redis://[user:pass@]host[:port][/db]` or `rediss://…` (TLS);
 * throws a message naming what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl } from "./redis_client.ts";
 *
 * assert.deepEqual(parseRedisUrl("redis://:s%40cret@redis:6380/2"), {
 *   hostname: "redis", port: 6380, tls: false, username: null, password: "s@cret", db: 2,
 * });
 * ```
 */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not echoed: the URL may carry a password.
    throw new Error("must be a redis:// or rediss:// URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(
      `must start with redis:// or rediss://, got "${url.protocol}//"`,
    );
  }
  if (url.hostname === "") throw new Error("must name a host");
  const dbText = url.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new Error(`database must be a number >= 0, got "${dbText}"`);
  }
  return {
    // `new URL` keeps an IPv6 literal's brackets; Deno.connect wants it bare.
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 6379 : Number(url.port),
    tls: url.protocol === "rediss:",
    username: url.username === "" ? null : decodeURIComponent(url.username),
    password: url.password === "" ? null : decodeURIComponent(url.password),
    db,
  };
}

/** Redis cannot be reached now; the command was not sent. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

export interface RedisClientOptions {
  target: RedisTarget;
  clock: Clock;
  /** A connection attempt gives up after this long (default 1000). */
  connectTimeoutMs?: number;
  /** Wait after the first failed attempt, doubled per failure (default 100). */
  backoffBaseMs?: number;
  /** Longest wait between attempts (default 5000). */
  backoffMaxMs?: number;
  /**
   * A connection whose oldest command has waited this long for its reply is
   * given up (every command on it rejects) and a new one is made: a Redis
   * that hangs without closing the socket (default 5000).
   */
  replyTimeoutMs?: number;
}

interface PendingReply {
  resolve(reply: RedisReply): void;
  reject(error: unknown): void;
  sentAt: number;
}

interface Connection {
  conn: Deno.Conn;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  pending: PendingReply[];
  /** Settles when the read loop has ended (the socket is closed). */
  reading: Promise<void>;
}

/**
 * One connection to Redis, opened on the first command.
 *
 * @example
 * ```ts ignore
 * const client = new RedisClient({ target: parseRedisUrl("redis://127.0.0.1:6379"), clock: systemClock });
 * await client.command(["SET", "k", "v"]);
 * await client.close();
 * ```
 */
export class RedisClient {
  readonly #options: Required<RedisClientOptions>;
  #connection: Connection | null = null;
  #connecting: Promise<Connection> | null = null;
  #failedAttempts = 0;
  #retryAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: RedisClientOptions) {
    this.#options = {
      connectTimeoutMs: 1000,
      backoffBaseMs: 100,
      backoffMaxMs: 5000,
      replyTimeoutMs: 5000,
      ...options,
    };
  }

  /**
   * Sends one command and resolves with its reply (a `RedisReplyError`
   * reply rejects). Rejects with {@linkcode RedisUnavailableError} when
   * there is no connection and none can be made now.
   */
  async command(args: readonly (string | number)[]): Promise<RedisReply> {
    this.#dropIfHung();
    const connection = this.#connection ?? await this.#connect();
    const reply = await send(connection, args, this.#options.clock.now());
    if (reply instanceof RedisReplyError) throw reply;
    return reply;
  }

  /** Closes the connection; commands still out reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection ??
      await this.#connecting?.catch(() => null);
    if (connection) {
      this.#drop(connection, new RedisUnavailableError("Redis client closed"));
      await connection.reading;
    }
  }

  #connect(): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(new RedisUnavailableError("Redis client closed"));
    }
    const now = this.#options.clock.now();
    if (this.#connecting === null && now < this.#retryAt) {
      return Promise.reject(
        new RedisUnavailableError(
          `Redis unreachable; next connection attempt in ${
            Math.ceil(this.#retryAt - now)
          } ms`,
        ),
      );
    }
    this.#connecting ??= this.#open().then(
      (connection) => {
        this.#failedAttempts = 0;
        this.#connection = connection;
        return connection;
      },
      (error) => {
        const { backoffBaseMs, backoffMaxMs, clock } = this.#options;
        const waitMs = Math.min(
          backoffMaxMs,
          backoffBaseMs * 2 ** this.#failedAttempts++,
        );
        this.#retryAt = clock.now() + waitMs;
        throw new RedisUnavailableError(
          `Cannot connect to Redis at ${this.#describe()}: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      },
    ).finally(() => this.#connecting = null);
    return this.#connecting;
  }

  /**
   * Connects and runs the handshake (AUTH, SELECT), all within
   * `connectTimeoutMs`: a Redis that accepts but never answers cannot hold
   * every later command behind this attempt.
   */
  async #open(): Promise<Connection> {
    const { target, clock, connectTimeoutMs } = this.#options;
    const late = new Error(`no connection within ${connectTimeoutMs} ms`);
    const abort = new AbortController();
    let connection: Connection | null = null;
    const cancelTimer = clock.setTimeout(() => {
      abort.abort(late);
      if (connection !== null) this.#drop(connection, late);
    }, connectTimeoutMs);
    try {
      const conn = await connectTo(target, abort.signal);
      connection = {
        conn,
        writer: conn.writable.getWriter(),
        pending: [],
        reading: Promise.resolve(),
      };
      connection.reading = this.#read(connection);
      if (target.password !== null) {
        await expectOk(
          connection,
          target.username === null
            ? ["AUTH", target.password]
            : ["AUTH", target.username, target.password],
        );
      }
      if (target.db !== 0) await expectOk(connection, ["SELECT", target.db]);
      if (this.#closed) {
        throw new RedisUnavailableError("Redis client closed");
      }
      return connection;
    } catch (error) {
      if (connection !== null) {
        this.#drop(connection, error);
        await connection.reading;
      }
      throw abort.signal.aborted ? late : error;
    } finally {
      cancelTimer();
    }
  }

  /** Hands replies to commands in order until the socket ends. */
  async #read(connection: Connection): Promise<void> {
    let buffered: Uint8Array = new Uint8Array(0);
    let error: unknown = new RedisUnavailableError(
      "Redis closed the connection",
    );
    try {
      for await (const chunk of connection.conn.readable) {
        buffered = buffered.length === 0 ? chunk : concat(buffered, chunk);
        let start = 0;
        for (;;) {
          const parsed = parseReply(buffered, start);
          if (parsed === undefined) break;
          connection.pending.shift()?.resolve(parsed.reply);
          start = parsed.next;
        }
        buffered = buffered.subarray(start);
      }
    } catch (readError) {
      error = new RedisUnavailableError(
        `Redis connection failed: ${(readError as Error).message}`,
        { cause: readError },
      );
    }
    this.#drop(connection, error);
  }

  /**
   * Checked on each command instead of with a timer: the callers' own
   * timeouts already bound each wait, this bounds what piles up.
   */
  #dropIfHung(): void {
    const connection = this.#connection;
    const oldest = connection?.pending[0];
    if (connection === null || oldest === undefined) return;
    const { clock, replyTimeoutMs } = this.#options;
    if (clock.now() - oldest.sentAt < replyTimeoutMs) return;
    this.#drop(
      connection,
      new RedisUnavailableError(
        `Redis sent no reply within ${replyTimeoutMs} ms; reconnecting`,
      ),
    );
  }

  /** Forgets `connection`, rejecting what it still owes; the next command reconnects. */
  #drop(connection: Connection, error: unknown): void {
    if (this.#connection === connection) this.#connection = null;
    for (const pending of connection.pending.splice(0)) pending.reject(error);
    try {
      connection.conn.close();
    } catch {
      // already closed by the read loop's end
    }
  }

  #describe(): string {
    const { hostname, port } = this.#options.target;
    return `${hostname}:${port}`;
  }
}

/** A TCP or TLS connection to `target`, given up when `signal` aborts. */
async function connectTo(
  target: RedisTarget,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  const { hostname, port } = target;
  if (!target.tls) return await Deno.connect({ hostname, port, signal });
  // Deno.connectTls takes no signal: race it, and close a late connection.
  const connecting = Deno.connectTls({ hostname, port });
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
  try {
    return await Promise.race([connecting, aborted]);
  } catch (error) {
    connecting.then((late) => late.close(), () => {});
    throw error;
  }
}

function send(
  connection: Connection,
  args: readonly (string | number)[],
  sentAt: number,
): Promise<RedisReply> {
  return new Promise((resolve, reject) => {
    connection.pending.push({ resolve, reject, sentAt });
    // Write failures also end the read loop, which rejects every pending reply.
    connection.writer.write(encodeCommand(args)).catch(() => {});
  });
}

async function expectOk(
  connection: Connection,
  args: readonly (string | number)[],
): Promise<void> {
  // A connection is watched for hung replies only once it is open, so the
  // handshake's commands are bounded by the connect timeout alone.
  const reply = await send(connection, args, Number.POSITIVE_INFINITY);
  if (reply instanceof RedisReplyError) {
    throw new Error(`${args[0]} refused: ${reply.message}`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

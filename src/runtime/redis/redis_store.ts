/**
 * Fleet state in Redis or Valkey (`GATEWAY_STORE=redis://…`), for instances
 * that share no disk (containers, Kubernetes). The same semantics as the
 * Deno KV store: versioned values, compare-and-set, expiry, counters.
 *
 * Layout: a value is one Redis string, `<version>:<JSON>`, under
 * `{prefix}:v:<key>`; versions come from one counter, `{prefix}:version`, so
 * a version is never handed out twice (a key that expired and was written
 * again cannot match a check made against its earlier life). Counters are
 * plain integers under `{prefix}:n:<key>`. Values are JSON, so any kind of
 * value a caller stores (breaker states, probe leases, health results)
 * round-trips without this file knowing it. The braces are a hash tag: on a
 * Redis Cluster every key of one gateway lives in one slot, as a script
 * touching several keys needs.
 *
 * Atomicity: `commit`, `set` and `increment` are Lua scripts. A script runs
 * alone on the server, checks and writes in one step, in one round trip, on
 * the one pipelined connection every caller shares. WATCH/MULTI would need a
 * connection per transaction (WATCH is connection state, so concurrent
 * commits on one connection would watch each other's keys), two more round
 * trips, and a retry loop on the client for what a script does in one step.
 *
 * @module
 */

import type {
  AtomicBreakerStore,
  StoreCheck,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";
import type { Clock } from "../../resilience/clock.ts";
import {
  parseRedisUrl,
  RedisClient,
  type RedisReply,
  RedisReplyError,
} from "./redis_client.ts";

/**
 * KEYS: the version counter, then each checked key, then each written key.
 * ARGV: the number of checks, each check's expected version ("" = absent),
 * then per write its JSON and its expiry in ms ("" = none).
 */
const COMMIT_SCRIPT = `
local checks = tonumber(ARGV[1])
for i = 1, checks do
  local current = redis.call('GET', KEYS[1 + i])
  local version = current and string.match(current, '^(%d+):') or ''
  if version ~= ARGV[1 + i] then return 0 end
end
for i = 1, #KEYS - 1 - checks do
  local key = KEYS[1 + checks + i]
  local value = redis.call('INCR', KEYS[1]) .. ':' .. ARGV[checks + 2 * i]
  local ttl = ARGV[checks + 2 * i + 1]
  if ttl == '' then
    redis.call('SET', key, value)
  else
    redis.call('SET', key, value, 'PX', ttl)
  end
end
return 1
`;

/** KEYS: the counter. ARGV: its lifetime in ms, set by the first increment only. */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`;

/**
 * A {@linkcode AtomicBreakerStore} on Redis.
 *
 * @example
 * ```ts ignore
 * const store = RedisStore.fromUrl("redis://redis:6379", { clock: systemClock });
 * const gateway = createGateway({ config, breakerStore: store });
 * // ... on shutdown:
 * await gateway.close();
 * await store.close();
 * ```
 */
export class RedisStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #scriptHashes = new Map<string, Promise<string>>();

  /** `prefix` names the gateway's keys (default `gateway`): fleets sharing a Redis pick different ones. */
  constructor(client: RedisClient, options: { prefix?: string } = {}) {
    this.#client = client;
    this.#prefix = `{${options.prefix ?? "gateway"}}`;
  }

  /** A store on a new client for `url`; throws a message naming what is wrong with the URL. */
  static fromUrl(
    url: string,
    options: { clock: Clock; prefix?: string },
  ): RedisStore {
    const client = new RedisClient({
      target: parseRedisUrl(url),
      clock: options.clock,
    });
    return new RedisStore(client, options);
  }

  async get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    if (keys.length === 0) return [];
    const reply = await this.#client.command([
      "MGET",
      ...keys.map((key) => this.#valueKey(key)),
    ]);
    if (!Array.isArray(reply) || reply.length !== keys.length) {
      throw new Error(`Cannot read from Redis: MGET answered ${typeof reply}`);
    }
    return reply.map(decodeValue);
  }

  async set(write: StoreWrite): Promise<void> {
    await this.commit([], [write]);
  }

  async commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    const keys = [
      `${this.#prefix}:version`,
      ...checks.map((check) => this.#valueKey(check.key)),
      ...writes.map((write) => this.#valueKey(write.key)),
    ];
    const args = [
      checks.length,
      ...checks.map((check) => check.version ?? ""),
      ...writes.flatMap((write) => [
        JSON.stringify(write.value),
        write.expireInMs === undefined ? "" : Math.max(1, write.expireInMs),
      ]),
    ];
    return await this.#runScript(COMMIT_SCRIPT, keys, args) === 1;
  }

  async increment(
    key: string,
    options: { expireInMs: number },
  ): Promise<number> {
    const count = await this.#runScript(
      INCREMENT_SCRIPT,
      [`${this.#prefix}:n:${key}`],
      [Math.max(1, options.expireInMs)],
    );
    if (typeof count !== "number") {
      throw new Error(`Cannot increment in Redis: got ${typeof count}`);
    }
    return count;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#client.close();
  }

  #valueKey(key: string): string {
    return `${this.#prefix}:v:${key}`;
  }

  /**
   * `EVALSHA` (the script's hash, not its text, on the wire); `EVAL` once
   * when the server does not know the script yet (first use, or after a
   * restart emptied its script cache).
   */
  async #runScript(
    script: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<RedisReply> {
    const tail = [keys.length, ...keys, ...args];
    try {
      return await this.#client.command([
        "EVALSHA",
        await this.#hash(script),
        ...tail,
      ]);
    } catch (error) {
      const unknownScript = error instanceof RedisReplyError &&
        error.message.startsWith("NOSCRIPT");
      if (!unknownScript) throw error;
      return await this.#client.command(["EVAL", script, ...tail]);
    }
  }

  #hash(script: string): Promise<string> {
    let hash = this.#scriptHashes.get(script);
    if (hash === undefined) {
      hash = crypto.subtle.digest("SHA-1", new TextEncoder().encode(script))
        .then((digest) =>
          Array.from(
            new Uint8Array(digest),
            (byte) => byte.toString(16).padStart(2, "0"),
          ).join("")
        );
      this.#scriptHashes.set(script, hash);
    }
    return hash;
  }
}

function decodeValue(raw: RedisReply): VersionedValue | null {
  if (raw === null) return null;
  if (typeof raw !== "string") {
    throw new Error(`Cannot read from Redis: a value is a ${typeof raw}`);
  }
  const colon = raw.indexOf(":");
  if (colon < 1) {
    throw new Error("Cannot read from Redis: a value has no version");
  }
  return {
    version: raw.slice(0, colon),
    value: JSON.parse(raw.slice(colon + 1)),
  };
}

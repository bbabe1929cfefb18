/**
 * Where a Deno gateway keeps fleet state (breakers, probe leases, health
 * results, fleet rate-limit counters): `GATEWAY_STORE=redis://…` or
 * `rediss://…` puts it in Redis or Valkey (containers, Kubernetes: instances
 * that share no disk); unset, it stays in the Deno KV at `GATEWAY_KV_PATH`
 * (a file shared by processes on one machine, the platform KV on Deno
 * Deploy, or a KV Connect URL of a self-hosted denokv).
 *
 * @module
 */

import type { AtomicBreakerStore } from "../../resilience/breaker_store.ts";
import type { Clock } from "../../resilience/clock.ts";
import { parseRedisUrl, RedisClient } from "../redis/redis_client.ts";
import { RedisStore } from "../redis/redis_store.ts";
import { DenoKvBreakerStore, openKv } from "./kv_breaker_store.ts";

/** The store the environment asks for. */
export type StoreSetting =
  | { kind: "deno-kv"; path: string | undefined }
  | { kind: "redis"; url: string };

/**
 * Reads `GATEWAY_STORE` (and `GATEWAY_KV_PATH` when it is unset); a bad
 * value adds a `GATEWAY_STORE: what is wrong` line to `errors`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storeSetting } from "./shared_store.ts";
 *
 * const errors: string[] = [];
 * const env = (name: string) => ({ GATEWAY_STORE: "redis://redis:6379" })[name];
 * assert.deepEqual(storeSetting(env, errors), { kind: "redis", url: "redis://redis:6379" });
 * storeSetting(() => "memcached://x", errors);
 * assert.deepEqual(errors, ['GATEWAY_STORE: must start with redis:// or rediss://, got "memcached://"']);
 * ```
 */
export function storeSetting(
  env: (name: string) => string | undefined,
  errors: string[],
): StoreSetting {
  const url = env("GATEWAY_STORE") || undefined;
  if (url === undefined) {
    return { kind: "deno-kv", path: env("GATEWAY_KV_PATH") || undefined };
  }
  try {
    parseRedisUrl(url);
  } catch (error) {
    errors.push(`GATEWAY_STORE: ${(error as Error).message}`);
  }
  return { kind: "redis", url };
}

/** An opened store, what the `listening` line says about it, and how to close it. */
export interface SharedStore {
  /** The opened store. */
  store: AtomicBreakerStore;
  /** Where the state lives, without credentials. */
  description: string;
  /** Closes the store's connections or files. */
  close(): Promise<void>;
}

/**
 * Opens the store. Deno KV is opened now (a wrong path is a setup mistake
 * and throws); Redis connects on first use, so a Redis that is down at
 * start-up does not stop the start (the gateway runs degraded until it is
 * reachable).
 */
export async function openSharedStore(
  setting: StoreSetting,
  clock: Clock,
): Promise<SharedStore> {
  if (setting.kind === "redis") {
    const target = parseRedisUrl(setting.url);
    const store = new RedisStore(new RedisClient({ target, clock }));
    const { hostname, port, tls, db } = target;
    return {
      store,
      description: `${tls ? "rediss" : "redis"}://${hostname}:${port}/${db}`,
      close: () => store.close(),
    };
  }
  const kv = await openKv(setting.path);
  return {
    store: new DenoKvBreakerStore(kv),
    description: setting.path === undefined
      ? "deno-kv (default)"
      : `deno-kv ${
        /^https?:/.test(setting.path)
          ? new URL(setting.path).origin
          : setting.path
      }`,
    close: () => Promise.resolve(kv.close()),
  };
}

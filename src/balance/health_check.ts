/**
 * Active health checks shared by the fleet. Per route with a `healthCheck`,
 * one record in the store holds every upstream's verdict and a probing
 * lease: each interval, the instance that finds the lease free (or its own)
 * takes it with a compare-and-set, probes each upstream once, and writes the
 * verdicts; every other instance only reads them. So a fleet of 50 probes
 * each upstream once per interval, not 50 times. The record is plain JSON
 * through the store port's `get`/`set`/`commit` (any backend).
 */

import type { HealthCheckPolicy } from "../config/types.ts";
import {
  type BreakerStore,
  type HealthRecord,
  isAtomicStore,
  type UpstreamHealth,
  type VersionedValue,
} from "../resilience/breaker_store.ts";

export type { HealthRecord, UpstreamHealth };
import { StoreGuard } from "../resilience/breaker_store_guard.ts";
import type { CancelTimer, Clock } from "../resilience/clock.ts";
import type { UpstreamPool } from "./upstream_pool.ts";

/**
 * The next verdict after one probe: unhealthy after `unhealthyThreshold`
 * failures in a row, healthy again after `healthyThreshold` passes in a row
 * (an upstream starts healthy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextHealth } from "./health_check.ts";
 * const policy = { unhealthyThreshold: 2, healthyThreshold: 2 };
 * const once = nextHealth(undefined, false, policy, 1);
 * assert.equal(once.healthy, true);
 * assert.equal(nextHealth(once, false, policy, 2).healthy, false);
 * ```
 */
export function nextHealth(
  previous: UpstreamHealth | undefined,
  passed: boolean,
  policy: Pick<HealthCheckPolicy, "unhealthyThreshold" | "healthyThreshold">,
  now: number,
): UpstreamHealth {
  const passes = passed ? (previous?.passes ?? 0) + 1 : 0;
  const failures = passed ? 0 : (previous?.failures ?? 0) + 1;
  let healthy = previous?.healthy ?? true;
  if (!passed && failures >= policy.unhealthyThreshold) healthy = false;
  if (passed && passes >= policy.healthyThreshold) healthy = true;
  return { healthy, passes, failures, checkedAt: now };
}

/** Tells a health record from the store's other values. */
export function isHealthRecord(value: unknown): value is HealthRecord {
  return typeof value === "object" && value !== null &&
    (value as { kind?: unknown }).kind === "health";
}

export interface HealthCheckerOptions {
  store: BreakerStore;
  clock: Clock;
  fetch: typeof fetch;
  /** This instance's id in leases. */
  holder: string;
  /** `"timers"`: each route's round runs every interval on the clock (Deno). `"manual"`: only `runOnce` (a Workers Cron Trigger). */
  schedule: "timers" | "manual";
  /** A verdict changed (log it). */
  onChange?(route: string, upstream: string, healthy: boolean): void;
  onStoreError?(error: unknown, firstOfIncident: boolean): void;
}

/** Runs the fleet's health checks for the pools it is given. */
export class HealthChecker {
  readonly #options: HealthCheckerOptions;
  readonly #guard: StoreGuard;
  #pools: UpstreamPool[] = [];
  readonly #timers = new Map<string, CancelTimer>();
  readonly #running = new Set<Promise<void>>();
  /** The last record seen per route, applied to pools rebuilt by a reload. */
  readonly #lastSeen = new Map<string, HealthRecord>();
  readonly #readAt = new Map<string, number>();
  #closed = false;

  constructor(options: HealthCheckerOptions) {
    this.#options = options;
    this.#guard = new StoreGuard(options.clock, 1_000, options.onStoreError);
  }

  /** The pools to check (start-up and each reload); routes without `healthCheck` are ignored. */
  setPools(pools: readonly UpstreamPool[]): void {
    this.#pools = pools.filter((pool) => pool.route.policy.healthCheck);
    for (const pool of this.#pools) {
      const seen = this.#lastSeen.get(pool.route.name);
      if (seen) this.#apply(pool, seen);
    }
    if (this.#options.schedule !== "timers" || this.#closed) return;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    for (const pool of this.#pools) this.#schedule(pool.route.name, 0);
  }

  /** One round for every route (a Cron Trigger's run); resolves when done. */
  async runOnce(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => this.#round(pool)));
  }

  /**
   * Without timers (Workers, where a Cron Trigger probes): reads the
   * verdicts in the background once they are an interval old. Cheap enough
   * per request: a clock read per checked route.
   */
  readIfStale(background: (task: Promise<unknown>) => void): void {
    const now = this.#options.clock.now();
    for (const pool of this.#pools) {
      const route = pool.route.name;
      if (
        now - (this.#readAt.get(route) ?? -Infinity) <
          pool.route.policy.healthCheck!.intervalMs
      ) continue;
      this.#readAt.set(route, now);
      const read = this.#read(pool).finally(() => this.#running.delete(read));
      this.#running.add(read);
      background(read);
    }
  }

  async #read(pool: UpstreamPool): Promise<void> {
    try {
      const key = `health|${pool.route.name}`;
      const [read] = await this.#guard.call(() =>
        this.#options.store.get([key])
      );
      if (read !== null && isHealthRecord(read.value)) {
        this.#adopt(pool, read.value);
      }
    } catch {
      // Counted by the guard.
    }
  }

  /** Stops the timers and waits for rounds still running. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    this.#guard.close();
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  #schedule(route: string, delayMs: number): void {
    this.#timers.set(
      route,
      this.#options.clock.setTimeout(() => {
        const pool = this.#pools.find((p) => p.route.name === route);
        if (pool === undefined || this.#closed) return;
        const round = this.#round(pool).finally(() => {
          this.#running.delete(round);
          if (!this.#closed) {
            this.#schedule(route, pool.route.policy.healthCheck!.intervalMs);
          }
        });
        this.#running.add(round);
      }, delayMs),
    );
  }

  /** Reads the route's record; probes and writes it when the lease is ours to take. */
  async #round(pool: UpstreamPool): Promise<void> {
    const { store, clock, holder } = this.#options;
    const key = `health|${pool.route.name}`;
    const policy = pool.route.policy.healthCheck!;
    try {
      const [read] = await this.#guard.call(() => store.get([key]));
      const seen = read !== null && isHealthRecord(read.value)
        ? read.value
        : null;
      const now = clock.now();
      if (seen && seen.prober !== holder && seen.leaseUntil > now) {
        this.#adopt(pool, seen);
        return;
      }
      const leased: HealthRecord = {
        kind: "health",
        prober: holder,
        leaseUntil: now + policy.intervalMs,
        upstreams: seen?.upstreams ?? {},
      };
      if (!await this.#take(key, read, leased)) {
        const [again] = await this.#guard.call(() => store.get([key]));
        if (again !== null && isHealthRecord(again.value)) {
          this.#adopt(pool, again.value);
        }
        return;
      }
      const probed = await this.#probeAll(pool, policy, leased.upstreams);
      const record = { ...leased, upstreams: probed };
      await this.#guard.call(() => store.set({ key, value: record }));
      this.#adopt(pool, record);
    } catch {
      // Counted by the guard; the pool keeps its last verdicts.
    }
  }

  /** Takes the lease: compare-and-set where the store has it, else last writer wins. */
  #take(
    key: string,
    read: VersionedValue | null,
    leased: HealthRecord,
  ): Promise<boolean> {
    const { store } = this.#options;
    if (!isAtomicStore(store)) {
      return this.#guard.call(() => store.set({ key, value: leased }))
        .then(() => true);
    }
    return this.#guard.call(() =>
      store.commit([{ key, version: read?.version ?? null }], [{
        key,
        value: leased,
      }])
    );
  }

  async #probeAll(
    pool: UpstreamPool,
    policy: HealthCheckPolicy,
    previous: Record<string, UpstreamHealth>,
  ): Promise<Record<string, UpstreamHealth>> {
    const passed = await Promise.all(
      pool.route.upstreams.map((upstream) =>
        this.#probe(upstream.origin + upstream.basePath + policy.path, policy)
      ),
    );
    const now = this.#options.clock.now();
    const next: Record<string, UpstreamHealth> = {};
    pool.route.upstreams.forEach((upstream, i) => {
      next[upstream.url] = nextHealth(
        previous[upstream.url],
        passed[i],
        policy,
        now,
      );
    });
    return next;
  }

  /** One probe: a 2xx or 3xx within `timeoutMs` passes. */
  async #probe(url: string, policy: HealthCheckPolicy): Promise<boolean> {
    const controller = new AbortController();
    const cancel = this.#options.clock.setTimeout(
      () => controller.abort(),
      policy.timeoutMs,
    );
    try {
      const response = await this.#options.fetch(url, {
        signal: controller.signal,
        redirect: "manual",
        headers: { "user-agent": "edge-gateway-health-check" },
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    } catch {
      return false;
    } finally {
      cancel();
    }
  }

  #adopt(pool: UpstreamPool, record: HealthRecord): void {
    this.#lastSeen.set(pool.route.name, record);
    this.#apply(pool, record);
  }

  #apply(pool: UpstreamPool, record: HealthRecord): void {
    pool.route.upstreams.forEach((upstream, i) => {
      const healthy = record.upstreams[upstream.url]?.healthy ?? true;
      if ((pool.healthy[i] === 1) !== healthy) {
        pool.healthy[i] = healthy ? 1 : 0;
        this.#options.onChange?.(pool.route.name, upstream.url, healthy);
      }
    });
  }
}

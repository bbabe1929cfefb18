/**
 * Every circuit breaker of a gateway (one per route × upstream), kept in
 * local memory for the hot path and shared with other instances through a
 * {@linkcode BreakerStore}: transitions are written to the store and other
 * instances' transitions pulled at most `syncIntervalMs` late. On an atomic
 * store the half-open probe allowance is shared too (see
 * `breaker_probe_lease.ts`). When the store fails, the board goes on with
 * local state.
 */

import type { BreakerPolicy } from "./circuit_breaker.ts";
import {
  type Admission,
  allowedAdmission,
  type BoardContext,
  type BreakerEntry,
} from "./breaker_entry.ts";
import { isOpenExpired } from "./breaker_merge.ts";
import { admitSharedProbe, PROBES_BUSY } from "./breaker_probe_lease.ts";
import { type BreakerStore, isAtomicStore } from "./breaker_store.ts";
import { StoreGuard, type StoreHealth } from "./breaker_store_guard.ts";
import { pullStates, queueTransition } from "./breaker_sync.ts";
import type { FleetCounter } from "./fleet_rate_limiter.ts";
import {
  type BreakerStateName,
  CircuitBreaker,
  type ForceAction,
} from "./circuit_breaker.ts";
import type { Clock } from "./clock.ts";

export type { Admission, BreakerStateName, StoreHealth };
export type { CallOutcome } from "./circuit_breaker.ts";

/** One breaker as `/_gateway/breakers`, metrics and the status page show it. */
export interface BreakerView {
  /** The route name. */
  route: string;
  /** The upstream URL as configured. */
  upstream: string;
  /** Closed, open or half-open. */
  state: BreakerStateName;
  /** Bumped on every transition. */
  epoch: number;
  /** When an open breaker may half-open (epoch ms); `null` otherwise. */
  openUntil: number | null;
  /** Calls in the current window. */
  calls: number;
  /** Share of failed calls in the window. */
  failureRate: number;
  /** Share of slow calls in the window. */
  slowCallRate: number;
  /** Held open or closed by an operator. */
  forced: boolean;
}

/**
 * One route × upstream's breaker, held by its upstream pool: no key lookup
 * per call.
 */
export interface BreakerHandle {
  /** Like `BreakerBoard.admit`. */
  admit(): Admission | Promise<Admission>;
  /** Open and not yet due for half-open (local state; no store call). */
  isOut(): boolean;
}

/** What a {@linkcode BreakerBoard} needs. */
export interface BreakerBoardOptions {
  /** Time for windows, open periods and store bounds. */
  clock: Clock;
  /** Where breaker state is shared. */
  store: BreakerStore;
  /** Bound on every store call (default 250). */
  storeTimeoutMs?: number;
  /** How stale local state may get (default 250 on an atomic store, 10000 on an advisory one). */
  syncIntervalMs?: number;
  /** Sync every `syncIntervalMs` on the clock until `close()` (default false: sync on traffic). */
  autoSync?: boolean;
  /** How long a half-open probe may hold its shared slot; set it to the longest `totalMs` (default 30000). */
  probeLeaseMs?: number;
  /** Each change of a breaker's state name (metrics + log). */
  onTransition?(view: BreakerView, from: BreakerStateName): void;
  /** Each failed store call; `firstOfIncident` after a healthy period (log once per incident, count each). */
  onStoreError?(error: unknown, firstOfIncident: boolean): void;
  /** Workers: keeps background store writes alive. */
  waitUntil?(p: Promise<unknown>): void;
}

/**
 * The gateway's breakers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BreakerBoard } from "./breaker_board.ts";
 * import { systemClock } from "./clock.ts";
 * import { BUILT_IN_POLICY } from "../config/defaults.ts";
 * import { MemoryBreakerStore } from "../runtime/memory/breaker_store.ts";
 *
 * const board = new BreakerBoard({ clock: systemClock, store: new MemoryBreakerStore() });
 * board.register("users", "http://10.0.0.5:8080/v1", BUILT_IN_POLICY.breaker);
 * const admission = await board.admit("users", "http://10.0.0.5:8080/v1");
 * assert.ok(admission.allowed);
 * admission.report({ failure: false, durationMs: 31 });
 * const [view] = board.views();
 * assert.equal(view.state, "closed");
 * assert.equal(view.calls, 1);
 * await board.close();
 * ```
 */
export class BreakerBoard {
  readonly #options: BreakerBoardOptions;
  readonly #context: BoardContext;
  readonly #entries = new Map<string, BreakerEntry>();
  /** Breakers a config reload dropped, kept for exchanges that started before it. */
  #retired = new Map<string, BreakerEntry>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #syncIntervalMs: number;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  #syncing: Promise<void> | null = null;
  #cancelAutoSync: (() => void) | null = null;
  #closed = false;

  /** A board with no breakers; `register` adds them. */
  constructor(options: BreakerBoardOptions) {
    this.#options = options;
    const atomic = options.store.capabilities.atomic;
    this.#syncIntervalMs = options.syncIntervalMs ?? (atomic ? 250 : 10_000);
    this.#context = {
      store: options.store,
      clock: options.clock,
      guard: new StoreGuard(
        options.clock,
        options.storeTimeoutMs ?? 250,
        options.onStoreError,
      ),
      holder: crypto.randomUUID(),
      probeLeaseMs: options.probeLeaseMs ?? 30_000,
      probesBusyMs: this.#syncIntervalMs,
      background: (task) => this.#background(task),
    };
    if (options.autoSync) this.#scheduleAutoSync();
  }

  /** Registers a breaker; called once per route × upstream at start-up (key = `${route}|${upstream}`). */
  register(route: string, upstream: string, policy: BreakerPolicy): void {
    const key = `${route}|${upstream}`;
    if (this.#entries.has(key)) {
      throw new Error(
        `Cannot register the breaker as it is already registered: current value is "${key}"`,
      );
    }
    const breaker = new CircuitBreaker({
      policy,
      clock: this.#options.clock,
      onTransition: (from, to, cause) => {
        if (from.state !== to.state) {
          this.#options.onTransition?.(this.#view(entry), from.state);
        }
        if (cause !== "adopted" && !this.#closed) {
          queueTransition(this.#context, entry, from, to, cause);
        }
      },
    });
    const entry: BreakerEntry = {
      route,
      upstream,
      key,
      policy,
      breaker,
      publishing: Promise.resolve(),
      pendingWrites: 0,
      probesBusyUntil: Number.NEGATIVE_INFINITY,
      settlingProbe: null,
    };
    this.#entries.set(key, entry);
  }

  /**
   * Config reload: the breakers become exactly `pairs`. A pair already
   * registered with an equal policy keeps its breaker (state, window and
   * all); a new pair is registered; a pair whose breaker policy changed gets
   * a new breaker, which starts closed and adopts the shared state at the
   * next sync. Dropped breakers leave `views()` and syncs but still answer
   * exchanges that started before this reload, until the next one.
   */
  reconcile(
    pairs: readonly {
      route: string;
      upstream: string;
      policy: BreakerPolicy;
    }[],
  ): void {
    const previous = new Map(this.#entries);
    this.#entries.clear();
    for (const { route, upstream, policy } of pairs) {
      const kept = previous.get(`${route}|${upstream}`);
      if (kept !== undefined && samePolicy(kept.policy, policy)) {
        this.#entries.set(kept.key, kept);
        previous.delete(kept.key);
      } else {
        this.register(route, upstream, policy);
      }
    }
    this.#retired = previous;
  }

  /** Hot path: no store round trip unless a half-open probe lease must be taken. */
  admit(route: string, upstream: string): Admission | Promise<Admission> {
    return this.#admit(this.#entry(route, upstream));
  }

  /** The breaker of `route` × `upstream`, for a caller that keeps it. */
  handle(route: string, upstream: string): BreakerHandle {
    const entry = this.#entry(route, upstream);
    const clock = this.#options.clock;
    return {
      admit: () => this.#admit(entry),
      isOut: () => entry.breaker.isOut(clock.now()),
    };
  }

  #admit(entry: BreakerEntry): Admission | Promise<Admission> {
    if (entry.settlingProbe !== null) {
      // A close this board is writing must not be answered with circuit_open.
      return entry.settlingProbe.then(() => this.#admit(entry));
    }
    if (
      !this.#closed && this.#syncing === null &&
      this.#options.clock.now() - this.#lastSyncAt >= this.#syncIntervalMs
    ) {
      this.#background(this.sync());
    }
    const { store, guard, clock } = this.#context;
    const state = entry.breaker.state;
    const halfOpen = state.state === "half_open" ||
      isOpenExpired(state, clock.now());
    if (halfOpen && isAtomicStore(store) && guard.healthy && !this.#closed) {
      // All slots were out a moment ago: spare the store a read per request.
      if (clock.now() < entry.probesBusyUntil) return PROBES_BUSY;
      return admitSharedProbe({
        ...this.#context,
        store,
        localAdmission: (entry) => this.#localAdmission(entry),
      }, entry);
    }
    return this.#localAdmission(entry);
  }

  /** Every breaker as the admin API and the status page show it. */
  views(): BreakerView[] {
    return [...this.#entries.values()].map((entry) => this.#view(entry));
  }

  /** Whether the shared store answers, and its last error. */
  storeHealth(): StoreHealth {
    return this.#context.guard.health();
  }

  /**
   * The shared store's counter (fleet rate limits) with the guard every
   * store call of this board goes through, so limits and breakers share one
   * health and one error count; `null` when the store has no counters
   * (Workers KV).
   */
  sharedCounter(): { counter: FleetCounter; guard: StoreGuard } | null {
    const { store, guard } = this.#context;
    return isAtomicStore(store) ? { counter: store, guard } : null;
  }

  /** Admin: propagated through the store; resolves once written (or given up). */
  async force(
    route: string,
    upstream: string,
    action: ForceAction,
  ): Promise<BreakerView | undefined> {
    const entry = this.#entries.get(`${route}|${upstream}`);
    if (entry === undefined) return undefined;
    entry.breaker.force(action);
    await entry.publishing;
    return this.#view(entry);
  }

  /** Pulls remote state now; never rejects (store failures are counted in `storeHealth()`). */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#syncing !== null) return this.#syncing;
    this.#lastSyncAt = this.#options.clock.now();
    this.#syncing = pullStates(this.#context, [...this.#entries.values()])
      .catch(() => {/* counted by the guard */})
      .finally(() => this.#syncing = null);
    return this.#syncing;
  }

  /** Waits until background store work (writes, syncs) is done: for shutdown and tests. */
  async settled(): Promise<void> {
    // Bounded: every task is a bounded store call chain; new ones only come from traffic.
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
  }

  /** Cancels timers and store calls still out; does not close the store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelAutoSync?.();
    this.#context.guard.close();
    await this.settled();
  }

  #entry(route: string, upstream: string): BreakerEntry {
    const key = `${route}|${upstream}`;
    const entry = this.#entries.get(key) ?? this.#retired.get(key);
    if (entry === undefined) {
      throw new Error(
        `Cannot admit a call as no breaker is registered for it: current value is "${route}|${upstream}"`,
      );
    }
    return entry;
  }

  #localAdmission(entry: BreakerEntry): Admission {
    const admission = entry.breaker.admit();
    if (!admission.allowed) return admission;
    return allowedAdmission(
      admission.probe,
      (outcome) =>
        entry.breaker.record(admission.epoch, admission.probe, outcome),
      () => entry.breaker.release(admission.epoch, admission.probe),
    );
  }

  #view(entry: BreakerEntry): BreakerView {
    const { state, epoch, openUntil, forced } = entry.breaker.state;
    return {
      route: entry.route,
      upstream: entry.upstream,
      state,
      epoch,
      openUntil,
      forced,
      ...entry.breaker.stats(),
    };
  }

  #scheduleAutoSync(): void {
    this.#cancelAutoSync = this.#options.clock.setTimeout(() => {
      this.#background(
        this.sync().finally(() => {
          if (!this.#closed) this.#scheduleAutoSync();
        }),
      );
    }, this.#syncIntervalMs);
  }

  #background(task: Promise<unknown>): void {
    this.#tasks.add(task);
    const forget = () => this.#tasks.delete(task);
    task.then(forget, forget);
    this.#options.waitUntil?.(task);
  }
}

/** Policies are plain JSON data merged in one key order: equal text, equal policy. */
function samePolicy(a: BreakerPolicy, b: BreakerPolicy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

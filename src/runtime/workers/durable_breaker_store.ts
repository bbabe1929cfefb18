/**
 * Breaker state in a Durable Object (binding `GATEWAY_BREAKERS`): strongly
 * consistent sharing on Workers.
 *
 * ## Consistency (for the README)
 *
 * Every isolate of the gateway, wherever it runs, talks to ONE object
 * (`BreakerStateObject` in `breaker_state_object.ts`, reached through
 * `idFromName("breakers")`). The object runs one request at a time on
 * strongly consistent storage, so this store is atomic like Deno KV:
 * transitions are compare-and-set (an instance never overwrites a newer
 * state) and the half-open probe allowance is global (at most
 * `halfOpenProbes` probes out across every isolate).
 *
 * - Staleness: an isolate sees another's transition at its next sync, which
 *   it starts in the background at most once per sync interval while it has
 *   traffic, plus one round trip to the object.
 * - Cost: the hot path makes no call to the object. Calls happen on a
 *   transition, on a sync (one per isolate per interval, in the background)
 *   and on every admission while a breaker is half-open (the probe lease),
 *   which is the only time a request waits for the object.
 * - Limits: the object lives in one location, so isolates far from it pay a
 *   long round trip on those calls, and one object serves on the order of a
 *   thousand requests a second, which caps isolates × syncs per second.
 *   When it is slow or unreachable the board's store timeout bounds each
 *   call and every isolate goes on with its local state (logged once per
 *   incident, counted, shown in `/_gateway/breakers`).
 *
 * The object is reached through its `fetch` (JSON over POST): RPC would make
 * the object class extend `DurableObject` from `cloudflare:workers`, a module
 * Deno cannot resolve, so `deno check` and the unit tests could not load it.
 */

import type {
  AtomicBreakerStore,
  StoreCheck,
  StoreWrite,
  VersionedValue,
} from "../../resilience/breaker_store.ts";
import type {
  CommitBody,
  CommitReply,
  GetBody,
  GetReply,
  IncrementBody,
  IncrementReply,
  SetBody,
} from "./breaker_state_object.ts";

/** A stub of the object: the part of Workers' `DurableObjectStub` this store uses. */
export interface BreakerObjectStub {
  /** Calls the object. */
  fetch(input: string, init: RequestInit): Promise<Response>;
}

/** The part of a Durable Object namespace binding this store uses. */
export interface BreakerObjectNamespace<Id = unknown> {
  /** The id of the object called `name`. */
  idFromName(name: string): Id;
  /** A stub to call that object. */
  get(id: Id): BreakerObjectStub;
}

/** The name the single object of a gateway is derived from. */
export const BREAKER_OBJECT_NAME = "breakers";

/** The object ignores the host; it only names the calls in logs and traces. */
const OBJECT_ORIGIN = "https://breaker-state.internal";

/**
 * An {@linkcode AtomicBreakerStore} on the `BreakerStateObject` bound as
 * `GATEWAY_BREAKERS`.
 *
 * @example
 * ```ts ignore
 * const store = new DurableBreakerStore(env.GATEWAY_BREAKERS);
 * const gateway = createGateway({ config, breakerStore: store, waitUntil: (p) => ctx.waitUntil(p) });
 * ```
 */
export class DurableBreakerStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  readonly #namespace: BreakerObjectNamespace;
  readonly #id: unknown;

  /** A store in the object called `options.name` (default "breakers") of `namespace`. */
  constructor(
    namespace: BreakerObjectNamespace,
    options: { name?: string } = {},
  ) {
    this.#namespace = namespace;
    this.#id = namespace.idFromName(options.name ?? BREAKER_OBJECT_NAME);
  }

  async get(keys: readonly string[]): Promise<(VersionedValue | null)[]> {
    const body: GetBody = { keys: [...keys] };
    const reply = await this.#call<GetReply>("/get", body);
    if (!Array.isArray(reply.values) || reply.values.length !== keys.length) {
      throw new Error(
        `Cannot read breaker state as the object answered ${
          reply.values?.length ?? "no"
        } values for ${keys.length} keys`,
      );
    }
    return reply.values;
  }

  async set(write: StoreWrite): Promise<void> {
    const body: SetBody = { write };
    await this.#call("/set", body);
  }

  async commit(
    checks: readonly StoreCheck[],
    writes: readonly StoreWrite[],
  ): Promise<boolean> {
    const body: CommitBody = { checks: [...checks], writes: [...writes] };
    const reply = await this.#call<CommitReply>("/commit", body);
    return reply.ok === true;
  }

  async increment(
    key: string,
    options: { expireInMs: number },
  ): Promise<number> {
    const body: IncrementBody = { key, expireInMs: options.expireInMs };
    const reply = await this.#call<IncrementReply>("/increment", body);
    if (typeof reply.count !== "number") {
      throw new Error(
        "Cannot increment the counter as the object answered no count",
      );
    }
    return reply.count;
  }

  async #call<T>(path: string, body: unknown): Promise<T> {
    // A stub is made per call: Workers ties a stub to the request that made
    // it, and the gateway outlives every request.
    const stub = this.#namespace.get(this.#id);
    const response = await stub.fetch(OBJECT_ORIGIN + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(
        `Cannot call the breaker object's ${path} as it answered ${response.status}: ${
          text.slice(0, 200)
        }`,
      );
    }
    return JSON.parse(text) as T;
  }
}

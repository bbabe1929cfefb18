/**
 * Two real OS processes, each with its own BreakerBoard, sharing one Deno KV
 * file: what one opens the other rejects within 1 s, and across both at most
 * `halfOpenProbes` probes go out.
 */

import assert from "node:assert/strict";
import type { BreakerView } from "../../src/resilience/breaker_board.ts";
import type {
  AtomicBreakerStore,
  StoreCheck,
  StoreWrite,
} from "../../src/resilience/breaker_store.ts";
import { DenoKvBreakerStore } from "../../src/runtime/deno/kv_breaker_store.ts";
import { breakerPolicy } from "../_fixtures/breaker_policy.ts";
import { FakeClock } from "../_fixtures/fake_clock.ts";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";

const CHILD = new URL("../_fixtures/breaker_board_child.ts", import.meta.url);

const POLICY = breakerPolicy({ openMs: 800 });

type Reply = {
  id: number;
  allowed?: boolean;
  probe?: boolean;
  ticket?: number;
  retryAfterMs?: number;
  view?: BreakerView;
};
type TransitionEvent = { event: "transition"; from: string; view: BreakerView };

/** A child process running one board, spoken to in JSON lines. */
class Instance {
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies = new Map<number, (reply: Reply) => void>();
  readonly #transitionWaiters: Array<{
    state: string;
    resolve: (event: TransitionEvent) => void;
  }> = [];
  readonly transitions: TransitionEvent[] = [];
  readonly done: Promise<void>;
  #nextId = 1;

  constructor(kvPath: string) {
    this.#process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--unstable-kv",
        CHILD.pathname,
        kvPath,
        JSON.stringify(POLICY),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.done = this.#read();
  }

  async request(message: Record<string, unknown>): Promise<Reply> {
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve) =>
      this.#replies.set(id, resolve)
    );
    const line = JSON.stringify({ id, ...message }) + "\n";
    await this.#writer.write(new TextEncoder().encode(line));
    return await reply;
  }

  /** The first transition into `state` (already seen or still to come). */
  transitionTo(state: string): Promise<TransitionEvent> {
    const seen = this.transitions.find((event) => event.view.state === state);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) =>
      this.#transitionWaiters.push({ state, resolve })
    );
  }

  async close(): Promise<void> {
    await this.request({ op: "close" });
    await this.#writer.close();
    await this.done;
    const status = await this.#process.status;
    assert.equal(status.code, 0);
  }

  async #read(): Promise<void> {
    const text = this.#process.stdout.pipeThrough(new TextDecoderStream());
    let buffered = "";
    for await (const chunk of text) {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (message.event === "transition") this.#onTransition(message);
        else this.#replies.get(message.id)?.(message);
      }
    }
  }

  #onTransition(event: TransitionEvent): void {
    this.transitions.push(event);
    for (const waiter of [...this.#transitionWaiters]) {
      if (waiter.state !== event.view.state) continue;
      this.#transitionWaiters.splice(
        this.#transitionWaiters.indexOf(waiter),
        1,
      );
      waiter.resolve(event);
    }
  }
}

/** `promise`, or a rejection after `ms` (the timer is always cleared). */
async function within<T>(ms: number, what: string, promise: Promise<T>) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function waitUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, epochMs - Date.now()))
  );
}

Deno.test("two processes on one Deno KV file share open, half-open probes and close", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/breakers.sqlite`;
  const a = new Instance(kvPath);
  const b = new Instance(kvPath);
  try {
    // Both running (and synced once) before the failures start.
    assert.equal((await a.request({ op: "admit" })).allowed, true);
    assert.equal((await b.request({ op: "admit" })).allowed, true);

    for (let i = 0; i < 4; i++) {
      const admission = await a.request({ op: "admit" });
      assert.equal(admission.allowed, true);
      await a.request({
        op: "report",
        ticket: admission.ticket,
        failure: true,
      });
    }
    const openedAt = Date.now();
    const opened = await a.transitionTo("open");
    const seenByB = await within(
      1000,
      "B sees A's open",
      b.transitionTo("open"),
    );
    assert.ok(Date.now() - openedAt < 1000);
    assert.equal(seenByB.view.epoch, opened.view.epoch);
    const rejected = await b.request({ op: "admit" });
    assert.equal(rejected.allowed, false);
    assert.ok(rejected.retryAfterMs! > 0 && rejected.retryAfterMs! <= 800);

    await waitUntil(opened.view.openUntil! + 20);
    const admits = await Promise.all(
      [a, b, a, b, a, b, a, b].map((instance) =>
        instance.request({ op: "admit" }).then((reply) => ({ instance, reply }))
      ),
    );
    const probes = admits.filter(({ reply }) => reply.allowed);
    // Never more than the allowance across both; and no fewer, as the leases are free.
    assert.equal(probes.length, POLICY.halfOpenProbes);
    assert.ok(probes.every(({ reply }) => reply.probe === true));

    for (const { instance, reply } of probes) {
      await instance.request({ op: "report", ticket: reply.ticket });
    }
    await within(1000, "A closes", a.transitionTo("closed"));
    await within(1000, "B closes", b.transitionTo("closed"));
    assert.equal((await b.request({ op: "admit" })).probe, false);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Deno KV store: compare-and-set refuses a stale version; reads past 10 keys", async () => {
  const dir = await Deno.makeTempDir();
  const store = await DenoKvBreakerStore.open(`${dir}/kv.sqlite`);
  try {
    const state = {
      state: "open" as const,
      epoch: 1,
      changedAt: 1,
      openUntil: 2,
      forced: false,
    };
    assert.equal(
      await store.commit([{ key: "k", version: null }], [{
        key: "k",
        value: state,
      }]),
      true,
    );
    const [first] = await store.get(["k"]);
    assert.deepEqual(first?.value, state);
    assert.equal(
      await store.commit([{ key: "k", version: null }], [{
        key: "k",
        value: { ...state, epoch: 2 },
      }]),
      false,
    );
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    await store.set({ key: "k11", value: state, expireInMs: 60_000 });
    const many = await store.get(keys);
    assert.equal(many.length, 12);
    assert.deepEqual(many[11]?.value, state);
    assert.equal(many[0], null);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Deno KV with commits held on demand: a close still on its way to the store. */
class HeldCommitsStore implements AtomicBreakerStore {
  readonly capabilities = { atomic: true } as const;
  #gate: Promise<void> | null = null;
  #open = () => {};

  constructor(readonly kv: DenoKvBreakerStore) {}

  hold(): void {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }
  open(): void {
    this.#gate = null;
    this.#open();
  }
  get(keys: readonly string[]) {
    return this.kv.get(keys);
  }
  set(write: StoreWrite) {
    return this.kv.set(write);
  }
  async commit(checks: readonly StoreCheck[], writes: readonly StoreWrite[]) {
    await this.#gate;
    return await this.kv.commit(checks, writes);
  }
  increment(key: string, options: { expireInMs: number }) {
    return this.kv.increment(key, options);
  }
}

Deno.test("Deno KV store: the call right after the closing probe's 200 is admitted", async () => {
  let healthy = false;
  const dir = await Deno.makeTempDir({ prefix: "breaker-close-" });
  const kv = await DenoKvBreakerStore.open(`${dir}/kv.sqlite`);
  const store = new HeldCommitsStore(kv);
  let probes = 0;
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      if (!healthy) return new Response("down", { status: 500 });
      // The probe holds its lease: its success will reach the store late.
      if (++probes === 1) store.hold();
      return new Response("up");
    },
  );
  const clock = new FakeClock(Date.now());
  const gw = await startTestGateway(
    routeConfig([`http://127.0.0.1:${upstream.addr.port}`], {
      policy: {
        retry: { retries: 0 },
        breaker: { size: 4, minCalls: 4, failureRate: 0.5, openMs: 10_000 },
      },
    }),
    { clock, breakerStore: store },
  );
  const get = async () => {
    const res = await fetch(`${gw.url}/api/x`);
    await res.text();
    return res.status;
  };
  const { gateway } = gw.serving;
  try {
    for (let i = 0; i < 4; i++) assert.equal(await get(), 500);
    assert.equal(await get(), 503);
    healthy = true;
    clock.advance(10_000);
    assert.equal(await get(), 200, "the probe");
    // The next call, handed to the gateway directly: one event-loop turn
    // later it has reached the breaker (no I/O before it on a GET).
    const next = gateway.fetch(new Request(`${gw.url}/api/x`));
    await new Promise((resolve) => setTimeout(resolve, 0));
    store.open();
    const response = await next;
    await response.text();
    assert.equal(response.status, 200, "the call right after the probe");
    assert.equal(gateway.board.views()[0].state, "closed");
  } finally {
    store.open();
    await gw.close();
    kv.close();
    await upstream.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Two real OS processes, each with its own BreakerBoard, sharing one Deno KV
 * file: what one opens the other rejects within 1 s, and across both at most
 * `halfOpenProbes` probes go out.
 */

import assert from "node:assert/strict";
import type { BreakerView } from "../../src/resilience/breaker_board.ts";
import { DenoKvBreakerStore } from "../../src/runtime/deno/kv_breaker_store.ts";
import { breakerPolicy } from "../_fixtures/breaker_policy.ts";

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

import type { GatewayCloseCause, Relay } from "./relay.ts";

/**
 * The relays still open, so a shutdown can close them (with 1001) and wait
 * for them; a plain set with a way to wait until it empties.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpenSockets } from "./open_sockets.ts";
 * const sockets = new OpenSockets();
 * const relay = { close() {} };
 * sockets.add(relay);
 * const empty = sockets.whenEmpty();
 * sockets.delete(relay);
 * await empty;
 * assert.equal(sockets.size, 0);
 * ```
 */
export class OpenSockets {
  readonly #relays = new Set<Relay>();
  #waiters: (() => void)[] = [];

  get size(): number {
    return this.#relays.size;
  }

  add(relay: Relay): void {
    this.#relays.add(relay);
  }

  delete(relay: Relay): void {
    this.#relays.delete(relay);
    if (this.#relays.size > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once no socket is open (at once when none is). */
  whenEmpty(): Promise<void> {
    if (this.#relays.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Closes every open socket from the gateway's end. */
  closeAll(code: number, reason: string, cause: GatewayCloseCause): void {
    for (const relay of [...this.#relays]) relay.close(code, reason, cause);
  }
}

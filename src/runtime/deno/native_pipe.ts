import type { NativePipe } from "../../pipeline/native_pipe.ts";

/**
 * Deno's private parts this module touches, feature-detected once: the
 * runtime's `core` (to close a resource) and the slot where a stream
 * records the resource it reads from.
 */
interface DenoInternals {
  tryClose(rid: number): void;
  backing: symbol;
}

interface ResourceBacking {
  rid: number;
  autoClose: boolean;
}

/**
 * Deno's native pipe, made endable. `Deno.serve` sends a `fetch` body handed
 * back in a `Response` without JavaScript per chunk (the floor's speed, flat
 * memory), but nothing public ends that pipe early: aborting the `fetch`
 * closes the body's resource only while it is in Deno's resource table, and
 * `Deno.serve` takes it out of the table to pipe it, so a stalled upstream
 * would hold the client until it closes (see docs/performance.md for the
 * repro worth filing upstream).
 *
 * The body's `fetch` resource stays in Deno's resource table when its
 * stream's backing says `autoClose: false`: `Deno.serve` then borrows the
 * resource instead of taking it: the `fetch`'s own abort reaches it again,
 * and closing it cuts the pipe (the client's response ends abnormally) or,
 * once the body was sent, frees it.
 *
 * That uses two Deno internals (`Deno[Deno.internal].core.tryClose` and the
 * stream's `[[resourceBacking]]` slot), so they are detected, not assumed:
 * `undefined` when this Deno lacks them, and the gateway relays every body
 * in JavaScript as before. `tests/integration/native_pipe_test.ts` checks on
 * the pinned Deno that the cut still reaches the client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoNativePipe } from "./native_pipe.ts";
 *
 * const pipe = denoNativePipe();
 * assert.ok(pipe !== undefined);
 * // A stream made in JavaScript has no resource: it cannot go natively.
 * assert.equal(pipe.take(new Response("made here").body!), null);
 * ```
 */
export function denoNativePipe(): NativePipe | undefined {
  const internals = denoInternals();
  if (internals === undefined) return undefined;
  const { tryClose, backing } = internals;
  return {
    take(body) {
      const resource = (body as unknown as Record<symbol, unknown>)[backing];
      if (!isResourceBacking(resource) || !resource.autoClose) return null;
      resource.autoClose = false;
      const { rid } = resource;
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        tryClose(rid);
      };
    },
  };
}

function denoInternals(): DenoInternals | undefined {
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (internal === undefined) return undefined;
  const core = (Deno as unknown as Record<symbol, { core?: unknown }>)[
    internal
  ]?.core as { tryClose?: unknown } | undefined;
  if (typeof core?.tryClose !== "function") return undefined;
  const backing = Object.getOwnPropertySymbols(new ReadableStream()).find(
    (symbol) => symbol.description === "[[resourceBacking]]",
  );
  if (backing === undefined) return undefined;
  return { tryClose: core.tryClose.bind(core), backing };
}

function isResourceBacking(value: unknown): value is ResourceBacking {
  return typeof value === "object" && value !== null &&
    typeof (value as ResourceBacking).rid === "number" &&
    typeof (value as ResourceBacking).autoClose === "boolean";
}

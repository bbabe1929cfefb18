/**
 * One gateway instance's breaker board on a Deno KV file, driven over
 * stdin/stdout with JSON lines, so a test can run several real processes
 * sharing one KV store.
 *
 * Usage: `deno run --allow-all --unstable-kv breaker_board_child.ts <kv path> <policy JSON>`
 *
 * Requests: `{"id":1,"op":"admit"}`, `{"id":2,"op":"report","ticket":1,"failure":true}`,
 * `{"id":3,"op":"view"}`, `{"id":4,"op":"close"}`. Each gets `{"id":…, …}` back.
 * Transitions arrive unasked as `{"event":"transition","from":…,"view":{…}}`.
 */

import type { BreakerPolicy } from "../../src/config/types.ts";
import {
  type Admission,
  BreakerBoard,
} from "../../src/resilience/breaker_board.ts";
import { systemClock } from "../../src/resilience/clock.ts";
import { DenoKvBreakerStore } from "../../src/runtime/deno/kv_breaker_store.ts";

export const CHILD_ROUTE = "route";
export const CHILD_UPSTREAM = "http://upstream";

interface Request {
  id: number;
  op: "admit" | "report" | "view" | "close";
  ticket?: number;
  failure?: boolean;
}

const encoder = new TextEncoder();
function send(message: unknown): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(message) + "\n"));
}

async function main(kvPath: string, policy: BreakerPolicy): Promise<void> {
  const store = await DenoKvBreakerStore.open(kvPath);
  const board = new BreakerBoard({
    clock: systemClock,
    store,
    autoSync: true,
    onTransition: (view, from) => send({ event: "transition", from, view }),
    onStoreError: (error) => console.error("breaker store error:", error),
  });
  board.register(CHILD_ROUTE, CHILD_UPSTREAM, policy);
  const tickets = new Map<number, Admission & { allowed: true }>();
  let nextTicket = 1;

  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const request = JSON.parse(buffered.slice(0, newline)) as Request;
      buffered = buffered.slice(newline + 1);
      if (request.op === "close") {
        await board.close();
        store.close();
        send({ id: request.id });
        return;
      }
      if (request.op === "view") {
        send({ id: request.id, view: board.views()[0] });
      } else if (request.op === "report") {
        tickets.get(request.ticket!)?.report({
          failure: request.failure ?? false,
          durationMs: 1,
        });
        tickets.delete(request.ticket!);
        send({ id: request.id });
      } else {
        // Concurrent admits must overlap, as requests do: answer when each settles.
        Promise.resolve(board.admit(CHILD_ROUTE, CHILD_UPSTREAM)).then(
          (admission) => {
            if (!admission.allowed) {
              send({ id: request.id, ...admission });
              return;
            }
            const ticket = nextTicket++;
            tickets.set(ticket, admission);
            send({
              id: request.id,
              allowed: true,
              probe: admission.probe,
              ticket,
            });
          },
        );
      }
    }
  }
}

if (import.meta.main) {
  await main(Deno.args[0], JSON.parse(Deno.args[1]));
}

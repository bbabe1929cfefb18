/**
 * Moving breaker states between a board and its store: publishing local
 * transitions (rebased on whatever the store holds) and pulling remote ones.
 * Every store call goes through the board's guard, so each is time-bounded
 * and counted; a failure leaves the local state as it is.
 */

import type { BoardContext, BreakerEntry } from "./breaker_entry.ts";
import {
  type BreakerState,
  isNewerState,
  rebaseTransition,
  type TransitionCause,
} from "./breaker_merge.ts";
import { isAtomicStore, isBreakerState } from "./breaker_store.ts";

/** Compare-and-set rounds lost to other writers before a write gives up. */
export const MAX_WRITE_ATTEMPTS = 4;

/**
 * Writes `state` under `key`: compare-and-set against `expectedVersion` on
 * an atomic store (false when someone wrote first), a plain write otherwise.
 */
export async function writeState(
  context: BoardContext,
  key: string,
  expectedVersion: string | null,
  state: BreakerState,
): Promise<boolean> {
  const { store, guard } = context;
  if (isAtomicStore(store)) {
    return await guard.call(() =>
      store.commit([{ key, version: expectedVersion }], [{
        key,
        value: state,
      }])
    );
  }
  await guard.call(
    () => store.set({ key, value: state }),
    store.capabilities.writeDelayMs,
  );
  return true;
}

/**
 * Publishes the local transition `from → to`, queued behind the breaker's
 * earlier writes. Resolves when done or given up; never rejects.
 */
export function queueTransition(
  context: BoardContext,
  entry: BreakerEntry,
  from: BreakerState,
  to: BreakerState,
  cause: TransitionCause,
): Promise<void> {
  return enqueueWrite(
    context,
    entry,
    () => publishTransition(context, entry, from, to, cause),
  );
}

/**
 * Runs `write` after the breaker's earlier writes, so the store sees its
 * states in order; counted in `pendingWrites` while queued or running.
 * Never rejects: failures are counted by the guard and local state stands.
 */
function enqueueWrite(
  context: BoardContext,
  entry: BreakerEntry,
  write: () => Promise<unknown>,
): Promise<void> {
  entry.pendingWrites++;
  entry.publishing = entry.publishing
    .then(write)
    .then(() => {}, () => {})
    .finally(() => entry.pendingWrites--);
  context.background(entry.publishing);
  return entry.publishing;
}

async function publishTransition(
  context: BoardContext,
  entry: BreakerEntry,
  from: BreakerState,
  to: BreakerState,
  cause: TransitionCause,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const [current] = await context.guard.call(() =>
      context.store.get([entry.key])
    );
    const remote = isBreakerState(current?.value) ? current.value : null;
    const next = rebaseTransition(
      from,
      to,
      remote,
      context.clock.now(),
      cause,
    );
    if (next === null) {
      // The store moved on elsewhere: its state wins.
      entry.breaker.adopt(remote!);
      return;
    }
    if (await writeState(context, entry.key, current?.version ?? null, next)) {
      entry.breaker.adopt(next);
      return;
    }
  }
}

/**
 * Reads every breaker's state once: newer remote states are adopted; local
 * states the store has not seen (written while it was down) are written back.
 */
export async function pullStates(
  context: BoardContext,
  entries: readonly BreakerEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const records = await context.guard.call(() =>
    context.store.get(entries.map((entry) => entry.key))
  );
  entries.forEach((entry, index) => {
    const record = records[index];
    const remote = isBreakerState(record?.value) ? record.value : null;
    const local = entry.breaker.state;
    if (remote !== null && isNewerState(remote, local)) {
      entry.breaker.adopt(remote);
      return;
    }
    const storeBehind = remote === null
      ? local.epoch > 0
      : isNewerState(local, remote);
    if (storeBehind && entry.pendingWrites === 0) {
      enqueueWrite(
        context,
        entry,
        () => writeState(context, entry.key, record?.version ?? null, local),
      );
    }
  });
}

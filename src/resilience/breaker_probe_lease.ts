/**
 * Half-open across instances on an atomic store. The store holds the
 * breaker's state and `halfOpenProbes` probe slots; a probe goes out only
 * with a lease on a free slot, taken by compare-and-set together with a
 * check that the state is still the same half-open epoch, so across every
 * instance at most `halfOpenProbes` probes are out. A lease expires
 * (`until`, and the store's `expireIn`) so a crashed instance cannot hold a
 * slot for ever. The breaker closes when every slot of the epoch holds a
 * succeeded lease, and re-opens on the first failed probe.
 */

import {
  type Admission,
  allowedAdmission,
  type BoardContext,
  type BreakerEntry,
  probeSlotKey,
} from "./breaker_entry.ts";
import {
  type BreakerState,
  isOpenExpired,
  isSameState,
} from "./breaker_merge.ts";
import {
  type AtomicBreakerStore,
  isBreakerState,
  isProbeLease,
  type ProbeLease,
  type StoreCheck,
  type StoreWrite,
  type VersionedValue,
} from "./breaker_store.ts";
import { MAX_WRITE_ATTEMPTS } from "./breaker_sync.ts";
import {
  type CallOutcome,
  HALF_OPEN_RETRY_AFTER_MS,
} from "./circuit_breaker.ts";

/** Where the half-open decision is made on an atomic store. */
export interface ProbeLeaseContext extends BoardContext {
  store: AtomicBreakerStore;
  /** The board's answer from local state alone, when the store cannot help. */
  localAdmission(entry: BreakerEntry): Admission;
}

interface SharedRead {
  main: VersionedValue | null;
  remote: BreakerState | null;
  slots: (VersionedValue | null)[];
  slotKeys: string[];
}

/** Every probe slot is out. */
export const PROBES_BUSY: Admission = {
  allowed: false,
  retryAfterMs: HALF_OPEN_RETRY_AFTER_MS,
};

/**
 * Admits a call to a breaker that is half-open (or whose open has expired)
 * by taking a shared probe lease. Falls back to local state when the store
 * fails.
 */
export async function admitSharedProbe(
  context: ProbeLeaseContext,
  entry: BreakerEntry,
): Promise<Admission> {
  try {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const read = await readShared(context, entry);
      if (read.remote !== null) entry.breaker.adopt(read.remote);
      const local = entry.breaker.state;
      const now = context.clock.now();
      const decidedLocally = local.state === "closed" ||
        (local.state === "open" && !isOpenExpired(local, now));
      if (decidedLocally) return context.localAdmission(entry);
      if (
        local.state === "open" || read.remote === null ||
        !isSameState(read.remote, local)
      ) {
        // Turn half-open (or write a local state the store missed) first.
        const next: BreakerState = local.state === "open"
          ? {
            state: "half_open",
            epoch: local.epoch + 1,
            changedAt: now,
            openUntil: null,
            forced: false,
            reopens: local.reopens ?? 0,
          }
          : local;
        const written = await commit(context, [mainCheck(entry, read)], [
          { key: entry.key, value: next },
        ]);
        if (written) entry.breaker.adopt(next);
        continue;
      }
      const slot = read.slots.findIndex((value) =>
        isFreeSlot(value, local.epoch, now)
      );
      if (slot < 0) {
        entry.probesBusyUntil = now + context.probesBusyMs;
        return PROBES_BUSY;
      }
      const lease: ProbeLease = {
        epoch: local.epoch,
        holder: context.holder,
        until: now + context.probeLeaseMs,
        succeeded: false,
      };
      const taken = await commit(context, allChecks(entry, read), [
        {
          key: read.slotKeys[slot],
          value: lease,
          expireInMs: context.probeLeaseMs,
        },
      ]);
      if (taken) return probeAdmission(context, entry, local.epoch, slot);
    }
    return PROBES_BUSY;
  } catch {
    // Counted by the guard; the local breaker decides meanwhile.
    return context.localAdmission(entry);
  }
}

function probeAdmission(
  context: ProbeLeaseContext,
  entry: BreakerEntry,
  epoch: number,
  slot: number,
): Admission {
  return allowedAdmission(true, (outcome: CallOutcome) => {
    const { slowCallMs } = entry.policy;
    const slow = slowCallMs !== null && outcome.durationMs > slowCallMs;
    if (outcome.failure || slow) {
      // The local breaker re-opens; the board publishes that transition.
      entry.breaker.record(epoch, true, outcome);
      return;
    }
    const settling = settleSuccess(context, entry, epoch, slot).catch(() => {
      /* counted by the guard; the lease expires on its own */
    }).finally(() => {
      if (entry.settlingProbe === settling) entry.settlingProbe = null;
    });
    entry.settlingProbe = settling;
    context.background(settling);
  }, () => {
    // No verdict: the shared slot is given back.
    context.background(
      releaseLease(context, entry, epoch, slot).catch(() => {
        /* counted by the guard; the lease expires on its own */
      }),
    );
  });
}

/** Marks the lease succeeded; the last success of the epoch closes the breaker. */
async function settleSuccess(
  context: ProbeLeaseContext,
  entry: BreakerEntry,
  epoch: number,
  slot: number,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const read = await readShared(context, entry);
    const mine = ownLease(context, read, slot, epoch);
    const stillHalfOpen = read.remote?.state === "half_open" &&
      read.remote.epoch === epoch;
    if (!stillHalfOpen || mine === undefined) return;
    const now = context.clock.now();
    const done: ProbeLease = {
      ...mine,
      until: now + context.probeLeaseMs,
      succeeded: true,
    };
    const othersDone = read.slots.every((value, index) =>
      index === slot || isSucceeded(value, epoch)
    );
    const closed: BreakerState = {
      state: "closed",
      epoch: epoch + 1,
      changedAt: now,
      openUntil: null,
      forced: false,
    };
    const writes: StoreWrite[] = [{
      key: read.slotKeys[slot],
      value: done,
      expireInMs: context.probeLeaseMs,
    }];
    if (othersDone) writes.push({ key: entry.key, value: closed });
    // Checking every slot makes the last two successes race for one close.
    if (await commit(context, allChecks(entry, read), writes)) {
      if (othersDone) entry.breaker.adopt(closed);
      return;
    }
  }
}

/** This board's lease on `slot` for `epoch`, if the store still has it. */
function ownLease(
  context: ProbeLeaseContext,
  read: SharedRead,
  slot: number,
  epoch: number,
): ProbeLease | undefined {
  const value = read.slots[slot]?.value;
  return value !== undefined && isProbeLease(value) &&
      value.holder === context.holder && value.epoch === epoch
    ? value
    : undefined;
}

/** Frees this board's lease on `slot` if it still holds it (compare-and-set). */
async function releaseLease(
  context: ProbeLeaseContext,
  entry: BreakerEntry,
  epoch: number,
  slot: number,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const read = await readShared(context, entry);
    const mine = ownLease(context, read, slot, epoch);
    if (mine === undefined || mine.succeeded) return;
    // An expired lease is a free slot.
    const free: ProbeLease = { ...mine, until: 0 };
    const check = {
      key: read.slotKeys[slot],
      version: read.slots[slot]!.version,
    };
    if (
      await commit(context, [check], [{
        key: read.slotKeys[slot],
        value: free,
        expireInMs: context.probeLeaseMs,
      }])
    ) return;
  }
}

async function readShared(
  context: ProbeLeaseContext,
  entry: BreakerEntry,
): Promise<SharedRead> {
  const slotKeys = Array.from(
    { length: entry.policy.halfOpenProbes },
    (_, slot) => probeSlotKey(entry, slot),
  );
  const [main, ...slots] = await context.guard.call(() =>
    context.store.get([entry.key, ...slotKeys])
  );
  const remote = isBreakerState(main?.value) ? main.value : null;
  return { main, remote, slots, slotKeys };
}

function commit(
  context: ProbeLeaseContext,
  checks: StoreCheck[],
  writes: StoreWrite[],
): Promise<boolean> {
  return context.guard.call(() => context.store.commit(checks, writes));
}

function mainCheck(entry: BreakerEntry, read: SharedRead): StoreCheck {
  return { key: entry.key, version: read.main?.version ?? null };
}

function allChecks(entry: BreakerEntry, read: SharedRead): StoreCheck[] {
  return [
    mainCheck(entry, read),
    ...read.slots.map((value, slot) => ({
      key: read.slotKeys[slot],
      version: value?.version ?? null,
    })),
  ];
}

function isFreeSlot(
  slot: VersionedValue | null,
  epoch: number,
  nowMs: number,
): boolean {
  if (slot === null || !isProbeLease(slot.value)) return true;
  const lease = slot.value;
  return lease.epoch !== epoch || (!lease.succeeded && lease.until <= nowMs);
}

function isSucceeded(slot: VersionedValue | null, epoch: number): boolean {
  return slot !== null && isProbeLease(slot.value) &&
    slot.value.epoch === epoch && slot.value.succeeded;
}

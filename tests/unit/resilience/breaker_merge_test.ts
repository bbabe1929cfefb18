import assert from "node:assert/strict";
import {
  type BreakerState,
  isNewerState,
  rebaseTransition,
} from "../../../src/resilience/breaker_merge.ts";

function state(over: Partial<BreakerState>): BreakerState {
  return {
    state: "closed",
    epoch: 1,
    changedAt: 100,
    openUntil: null,
    forced: false,
    ...over,
  };
}

const NOW = 10_000;

Deno.test("isNewerState: epoch first, then changedAt, then the more cautious state", () => {
  assert.equal(isNewerState(state({ epoch: 2 }), state({ epoch: 1 })), true);
  assert.equal(
    isNewerState(state({ epoch: 1, changedAt: 999 }), state({ epoch: 2 })),
    false,
  );
  assert.equal(
    isNewerState(state({ changedAt: 101 }), state({ changedAt: 100 })),
    true,
  );
  assert.equal(isNewerState(state({ state: "open" }), state({})), true);
  assert.equal(isNewerState(state({}), state({})), false);
});

Deno.test("rebase: a store still at `from` (or empty) takes `to` as is", () => {
  const from = state({ epoch: 4 });
  const to = state({ state: "open", epoch: 5, changedAt: 200, openUntil: 900 });
  assert.deepEqual(rebaseTransition(from, to, from, NOW, "local"), to);
  assert.deepEqual(rebaseTransition(from, to, null, NOW, "local"), to);
});

Deno.test("rebase: an open over a newer closed state is re-applied above its epoch", () => {
  const from = state({ epoch: 0 });
  const to = state({ state: "open", epoch: 1, changedAt: 200, openUntil: 900 });
  const remote = state({ epoch: 7, changedAt: 150 });
  assert.deepEqual(rebaseTransition(from, to, remote, NOW, "local"), {
    ...to,
    epoch: 8,
  });
});

Deno.test("rebase: a remote state that moved elsewhere wins", () => {
  const from = state({ epoch: 4 });
  const to = state({ state: "open", epoch: 5, changedAt: 200, openUntil: 900 });
  const reopened = state({
    state: "open",
    epoch: 6,
    changedAt: 150,
    openUntil: 800,
  });
  assert.equal(rebaseTransition(from, to, reopened, NOW, "local"), null);
  const forcedClosed = state({ epoch: 6, forced: true });
  assert.equal(rebaseTransition(from, to, forcedClosed, NOW, "local"), null);
});

Deno.test("rebase: half-open over a fresh open loses, over a stale open applies", () => {
  const from = state({ state: "open", epoch: 2, openUntil: 5_000 });
  const to = state({ state: "half_open", epoch: 3, changedAt: NOW });
  const fresh = state({ state: "open", epoch: 4, openUntil: NOW + 1 });
  assert.equal(rebaseTransition(from, to, fresh, NOW, "local"), null);
  const stale = state({ state: "open", epoch: 4, openUntil: NOW });
  assert.deepEqual(rebaseTransition(from, to, stale, NOW, "local"), {
    ...to,
    epoch: 5,
  });
});

Deno.test("rebase: an older remote state is overwritten; admin actions always apply", () => {
  const from = state({ epoch: 4 });
  const to = state({ state: "open", epoch: 5, changedAt: 200, openUntil: 900 });
  assert.deepEqual(
    rebaseTransition(from, to, state({ epoch: 2 }), NOW, "local"),
    to,
  );
  const reset = state({ epoch: 5, changedAt: 300 });
  const remote = state({ state: "open", epoch: 9, openUntil: NOW + 1 });
  assert.deepEqual(rebaseTransition(from, reset, remote, NOW, "admin"), {
    ...reset,
    epoch: 10,
  });
});

/**
 * A route's upstreams as one pool: the balancer's pick, each upstream's
 * breaker and its fleet-wide health verdict, joined on the hot path from
 * local state only (no store round trip, no allocation per candidate).
 */

import type { Route } from "../config/types.ts";
import type {
  Admission,
  BreakerBoard,
  BreakerHandle,
} from "../resilience/breaker_board.ts";
import type { Clock } from "../resilience/clock.ts";
import { Balancer, type IsOut, NONE } from "./balancer.ts";

/** An admission with the index of the upstream it admits. */
export type Admitted = Extract<Admission, { allowed: true }> & {
  index: number;
};
export type AdmittedOrRejected = Admitted | {
  allowed: false;
  retryAfterMs: number;
};

/** One upstream as `/_gateway/upstreams` and metrics show it. */
export interface UpstreamView {
  route: string;
  upstream: string;
  weight: number;
  backup: boolean;
  healthy: boolean;
  inflight: number;
  /** Attempts sent to it since start-up. */
  requests: number;
  /** The p2c cost now (peak-EWMA ms × (in-flight + 1) / weight). */
  cost: number;
}

export class UpstreamPool {
  readonly route: Route;
  readonly balancer: Balancer;
  /** 1 while the health checks (if any) pass; written by the health checker. */
  readonly healthy: Uint8Array;
  /** Attempts sent, per upstream (for `gateway_upstream_requests_total`). */
  readonly requests: Float64Array;
  readonly #breakers: BreakerHandle[];
  /** Retry-After when every upstream is out by health checks alone. */
  readonly #unhealthyRetryAfterMs: number;
  readonly isOut: IsOut = (i) =>
    this.healthy[i] === 0 || this.#breakers[i].isOut();

  constructor(
    route: Route,
    deps: { board: BreakerBoard; clock: Clock; random: () => number },
  ) {
    const { upstreams, policy } = route;
    this.route = route;
    this.balancer = new Balancer({
      policy: policy.balance,
      weights: upstreams.map((upstream) => upstream.weight),
      backups: upstreams.map((upstream) => upstream.backup),
      clock: deps.clock,
      random: deps.random,
    });
    this.healthy = new Uint8Array(upstreams.length).fill(1);
    this.requests = new Float64Array(upstreams.length);
    this.#breakers = upstreams.map((upstream) =>
      deps.board.handle(route.name, upstream.url)
    );
    this.#unhealthyRetryAfterMs = policy.healthCheck?.intervalMs ?? 1_000;
  }

  /**
   * Admits the next attempt: the balancer's pick when its breaker agrees,
   * else (a half-open breaker with its probes out, say) the first upstream
   * in list order whose breaker admits it, primaries before backups and
   * `exclude` (the upstream that just failed) last; rejected only when every
   * upstream is out.
   */
  admit(exclude: number): AdmittedOrRejected | Promise<AdmittedOrRejected> {
    const picked = this.balancer.pick(this.isOut, exclude);
    if (picked === NONE) return this.#admitAnother(exclude, picked, Infinity);
    const admission = this.#breakers[picked].admit();
    // Synchronous unless a half-open probe goes to the store: the common
    // case costs no promise.
    return admission instanceof Promise
      ? admission.then((settled) => this.#picked(settled, exclude, picked))
      : this.#picked(admission, exclude, picked);
  }

  #picked(
    admission: Admission,
    exclude: number,
    picked: number,
  ): AdmittedOrRejected | Promise<AdmittedOrRejected> {
    if (admission.allowed) return { ...admission, index: picked };
    return this.#admitAnother(exclude, picked, admission.retryAfterMs);
  }

  /** The list-order fallback of `admit` once the balancer's pick was refused (or there was none). */
  async #admitAnother(
    exclude: number,
    picked: number,
    retryAfterMs: number,
  ): Promise<AdmittedOrRejected> {
    let soonest = retryAfterMs;
    const n = this.balancer.size;
    for (let pass = 0; pass < 3; pass++) {
      for (let i = 0; i < n; i++) {
        const inPass = pass === 2
          ? i === exclude
          : i !== exclude && this.route.upstreams[i].backup === (pass === 1);
        if (!inPass || i === picked || this.healthy[i] === 0) continue;
        const admission = await this.#breakers[i].admit();
        if (admission.allowed) return { ...admission, index: i };
        soonest = Math.min(soonest, admission.retryAfterMs);
      }
    }
    return {
      allowed: false,
      retryAfterMs: soonest === Infinity
        ? this.#unhealthyRetryAfterMs
        : soonest,
    };
  }

  /**
   * Takes over what `previous`, the pool this one replaces on a config
   * reload, knew of the upstreams both list (matched by URL): attempt counts
   * (`gateway_upstream_requests_total` must not go back) and p2c latency.
   * Health verdicts come back from the health checker (`setPools`).
   */
  carryOver(previous: UpstreamPool): void {
    const before = new Map(
      previous.route.upstreams.map((upstream, j) => [upstream.url, j]),
    );
    this.route.upstreams.forEach((upstream, i) => {
      const j = before.get(upstream.url);
      if (j === undefined) return;
      this.requests[i] = previous.requests[j];
      this.balancer.carryLatency(previous.balancer, j, i);
    });
  }

  /** An attempt is going out to upstream `index`. */
  started(index: number): void {
    this.requests[index]++;
    this.balancer.started(index);
  }

  views(): UpstreamView[] {
    return this.route.upstreams.map((upstream, i) => ({
      route: this.route.name,
      upstream: upstream.url,
      weight: upstream.weight,
      backup: upstream.backup,
      healthy: this.healthy[i] === 1,
      inflight: this.balancer.inflight(i),
      requests: this.requests[i],
      cost: this.balancer.cost(i),
    }));
  }
}

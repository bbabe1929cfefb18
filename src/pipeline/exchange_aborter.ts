import type { Clock } from "../resilience/clock.ts";
import { ClientGone, UpstreamTimeout } from "./abort_reasons.ts";

/**
 * Routes the aborts that concern a whole exchange (the client leaving, the
 * total deadline) to whichever step is running: the current attempt's fetch
 * and body, or a backoff wait. One controller per step and no
 * `AbortSignal.any` keeps `fetch` on its cheapest path; a step started after
 * the exchange was aborted starts aborted.
 */
export class ExchangeAborter {
  /** Why the exchange was aborted; `undefined` while it runs. */
  reason: unknown = undefined;
  #current: AbortController | null = null;

  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.#current?.abort(reason);
  }

  /** A controller for the next step, aborted already if the exchange is. */
  nextStep(): AbortController {
    const controller = new AbortController();
    this.#current = controller;
    if (this.reason !== undefined) controller.abort(this.reason);
    return controller;
  }
}

/**
 * An exchange's aborter armed with the client's signal and the total
 * deadline; `finish` disarms both and runs `release`, once.
 */
export function armExchange(options: {
  request: Request;
  clock: Clock;
  totalMs: number;
  release: () => void;
  /** Runs in the client's abort event, after the aborter was aborted. */
  onClientGone(): void;
}): { aborter: ExchangeAborter; finish: () => void } {
  const { request, release } = options;
  const aborter = new ExchangeAborter();
  const onClientAbort = () => {
    aborter.abort(new ClientGone());
    options.onClientGone();
  };
  request.signal.addEventListener("abort", onClientAbort, { once: true });
  const cancelTotal = options.clock.setTimeout(
    () => aborter.abort(new UpstreamTimeout("total")),
    options.totalMs,
  );
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    cancelTotal();
    request.signal.removeEventListener("abort", onClientAbort);
    release();
  };
  return { aborter, finish };
}

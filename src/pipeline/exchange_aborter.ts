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
 *
 * With `clientWatchDelayMs` > 0 the client's signal is watched only from
 * then on (checked at once when the watch starts): on Deno, listening to
 * `request.signal` costs an async op per request, a sizeable part of a fast
 * exchange. A client that leaves sooner is noticed when the watch starts
 * (its upstream request cancelled then), or not at all when the exchange
 * ended first: its response went nowhere, and the log shows the status the
 * upstream gave rather than 499.
 */
export function armExchange(options: {
  request: Request;
  clock: Clock;
  totalMs: number;
  /** 0: watch the client from the start. */
  clientWatchDelayMs: number;
  release: () => void;
  /** Runs in the client's abort event, after the aborter was aborted. */
  onClientGone(): void;
}): { aborter: ExchangeAborter; finish: () => void } {
  const { request, release, clock } = options;
  const aborter = new ExchangeAborter();
  const onClientAbort = () => {
    aborter.abort(new ClientGone());
    options.onClientGone();
  };
  let signal: AbortSignal | null = null;
  const watchClient = () => {
    signal = request.signal;
    signal.addEventListener("abort", onClientAbort, { once: true });
    return signal;
  };
  const cancelWatch = options.clientWatchDelayMs > 0
    ? clock.setTimeout(() => {
      // A client gone before the watch began is not left unnoticed.
      if (watchClient().aborted) onClientAbort();
    }, options.clientWatchDelayMs)
    : (watchClient(), () => {});
  const cancelTotal = clock.setTimeout(
    () => aborter.abort(new UpstreamTimeout("total")),
    options.totalMs,
  );
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    cancelTotal();
    cancelWatch();
    (signal as AbortSignal | null)?.removeEventListener("abort", onClientAbort);
    release();
  };
  return { aborter, finish };
}

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

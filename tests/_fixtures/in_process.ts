/**
 * The gateway in process, like Hono's `app.request()`: `createGateway` with
 * an injected `fetch` standing in for the upstreams, an injected clock and
 * randomness, and no socket anywhere. For pipeline logic (retries, timeouts,
 * redirects, selection); behaviour that crosses a network is tested over
 * loopback instead.
 */
import { validateConfig } from "../../src/config/validate_config.ts";
import {
  createGateway,
  type Gateway,
  type GatewayOptions,
} from "../../src/gateway.ts";
import { FakeClock } from "./fake_clock.ts";

/** What the fake upstreams were asked, in order. */
export interface SentRequest {
  url: string;
  method: string;
  headers: Headers;
}

export type Upstreams = (
  request: SentRequest,
  signal: AbortSignal,
) => Response | Promise<Response>;

export interface InProcessGateway extends AsyncDisposable {
  readonly gateway: Gateway;
  readonly clock: FakeClock;
  readonly sent: SentRequest[];
  /**
   * Sends a request through the gateway, moving the fake clock in `stepMs`
   * steps until it answers (bounded), so backoff waits and timeouts elapse.
   */
  request(path: string, init?: RequestInit, stepMs?: number): Promise<Response>;
}

export function inProcessGateway(
  rawConfig: unknown,
  upstreams: Upstreams,
  options: Omit<GatewayOptions, "config" | "fetch" | "clock"> = {},
): InProcessGateway {
  const result = validateConfig(rawConfig, () => undefined);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  const clock = new FakeClock();
  const sent: SentRequest[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const request = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
    };
    sent.push(request);
    const signal = init?.signal ?? new AbortController().signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<Response>((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), {
        once: true,
      });
      Promise.resolve(upstreams(request, signal)).then(resolve, reject);
    });
  };
  const gateway = createGateway({
    logSink: () => {},
    random: () => 0,
    ...options,
    config: result.config,
    fetch,
    clock,
  });
  return {
    gateway,
    clock,
    sent,
    async request(path, init, stepMs = 10) {
      let settled = false;
      const answer = gateway.fetch(new Request(`http://gw.test${path}`, init))
        .finally(() => settled = true);
      for (let step = 0; step < 10_000 && !settled; step++) {
        await clock.advanceAsync(stepMs);
      }
      return await answer;
    },
    async [Symbol.asyncDispose]() {
      await gateway.close();
    },
  };
}

/** An upstream that never answers: the attempt ends only by its signal. */
export function never(): Promise<Response> {
  return new Promise(() => {});
}

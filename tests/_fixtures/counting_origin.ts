/**
 * A loopback origin for upstream-pool tests: counts the requests it gets,
 * answers after `delayMs` with `status`, and serves `/healthz` as 200 or 503
 * by `healthy` (probes counted apart). Every knob can change while it runs.
 */
export class CountingOrigin implements AsyncDisposable {
  requests = 0;
  probes = 0;
  delayMs = 0;
  status = 200;
  healthy = true;
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #closing = new AbortController();

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#handle(request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  static start(): CountingOrigin {
    return new CountingOrigin();
  }

  async #handle(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/healthz") {
      this.probes++;
      return new Response(null, { status: this.healthy ? 200 : 503 });
    }
    this.requests++;
    if (this.delayMs > 0) await this.#wait(this.delayMs);
    return new Response(this.url, { status: this.status });
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.#closing.signal;
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#server.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A URL nothing listens on (the port was just free). */
export function deadUpstream(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

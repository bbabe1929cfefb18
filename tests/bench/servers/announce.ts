/**
 * The line every bench server prints once it listens, in the same shape as the
 * gateway's own start-up log, so the harness reads all of them one way.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ port: 0, onListen: announceListening }, () => new Response());
 * ```
 */
export function announceListening(addr: Deno.NetAddr): void {
  console.log(JSON.stringify({ msg: "listening", port: addr.port }));
}

/**
 * The origin URL a proxy server forwards to, from `BENCH_ORIGIN`.
 * Throws when it is missing so a misconfigured run fails at start, not per request.
 */
export function originFromEnv(): string {
  const origin = Deno.env.get("BENCH_ORIGIN");
  if (!origin) throw new Error("Cannot start proxy as BENCH_ORIGIN is not set");
  return origin.replace(/\/$/, "");
}

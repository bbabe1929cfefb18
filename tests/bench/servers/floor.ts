/**
 * The runtime's own floor: a bare `Deno.serve` + `fetch` passthrough with no
 * policy at all. Every other Deno proxy is measured as a ratio of this one.
 * Forwards to `BENCH_ORIGIN`; prints `{"msg":"listening","port":N}`.
 */
import { announceListening, originFromEnv } from "./announce.ts";

const origin = originFromEnv();

Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: announceListening },
  async (request) => {
    const url = new URL(request.url);
    const upstream = await fetch(origin + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
    return new Response(upstream.body, upstream);
  },
);

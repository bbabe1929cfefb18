/**
 * Hono's `proxy()` helper on Deno, the peer a Hono user would reach for first.
 * Forwards to `BENCH_ORIGIN`; prints `{"msg":"listening","port":N}`.
 */
import { Hono } from "hono";
import { proxy } from "hono/proxy";
import { announceListening, originFromEnv } from "./announce.ts";

const origin = originFromEnv();
const app = new Hono();

app.all("*", (c) => {
  const url = new URL(c.req.url);
  return proxy(origin + url.pathname + url.search, { raw: c.req.raw });
});

Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: announceListening },
  app.fetch,
);

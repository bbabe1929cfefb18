/**
 * A loopback port that was free a moment ago, for servers that must be told
 * their port up front (`wrangler dev --port`, its inspector).
 *
 * @example
 * ```ts ignore
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

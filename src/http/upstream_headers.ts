import { connectionListed, HOP_BY_HOP } from "./hop_by_hop.ts";

/** What the gateway knows about the connection a request came in on. */
export interface Peer {
  /** The address connected to the gateway (the client or a proxy). */
  address: string | undefined;
  /** Whether that address is a trusted proxy whose X-Forwarded-* we keep. */
  trusted: boolean;
  /** Scheme the request reached the gateway with. */
  proto: string;
}

/**
 * Headers the gateway sets itself; whatever the client sent under these names
 * is replaced, never merged (the X-Forwarded-* family only when the peer is
 * not a trusted proxy).
 */
const SET_BY_GATEWAY = new Set([
  "host",
  "x-request-id",
  "traceparent",
  "accept-encoding",
  "x-request-deadline-ms",
  "expect",
]);
const FORWARDING = new Set([
  "x-real-ip",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
]);

/**
 * Builds the headers of the upstream request in one pass over the client's:
 * hop-by-hop headers dropped (the fixed set and whatever `Connection` names),
 * `remove` dropped (credentials the gateway consumed), X-Forwarded-* appended
 * or set, request id and trace context set.
 *
 * `Accept-Encoding: identity` goes upstream because Deno's `fetch` decodes
 * gzip/br bodies while keeping their `Content-Encoding`/`Content-Length`
 * unless the request asked for identity; with it, whatever encoded bytes an
 * upstream still sends pass through unchanged.
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  peer: Peer,
  requestId: string,
  traceparent: string,
  remove: ReadonlySet<string>,
): Headers {
  const listed = connectionListed(incoming);
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (
      HOP_BY_HOP.has(name) || SET_BY_GATEWAY.has(name) || remove.has(name) ||
      listed?.has(name) || (FORWARDING.has(name) && !peer.trusted)
    ) continue;
    out.append(name, value);
  }
  if (peer.address !== undefined) {
    const prior = out.get("x-forwarded-for");
    out.set(
      "x-forwarded-for",
      prior === null ? peer.address : `${prior}, ${peer.address}`,
    );
  }
  if (!out.has("x-forwarded-proto")) out.set("x-forwarded-proto", peer.proto);
  const host = incoming.get("host");
  if (host !== null && !out.has("x-forwarded-host")) {
    out.set("x-forwarded-host", host);
  }
  out.set("x-request-id", requestId);
  out.set("traceparent", traceparent);
  out.set("accept-encoding", "identity");
  return out;
}

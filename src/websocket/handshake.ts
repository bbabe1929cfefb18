/**
 * The client's side of a WebSocket handshake (RFC 6455 §4.2.1), checked
 * before anything reaches the upstream, and what of it goes upstream.
 *
 * @module
 */

import { GatewayError } from "../errors.ts";
import { connectionListed } from "../http/hop_by_hop.ts";

/** A key is 16 random bytes in base64: 22 characters and `==`. */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Query parameter a browser (which cannot set headers) may carry its credential in. */
const ACCESS_TOKEN_PARAM = "access_token";

/**
 * Whether the request asks for a WebSocket: `Upgrade` lists `websocket`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isWebSocketUpgrade } from "./handshake.ts";
 * assert.equal(isWebSocketUpgrade(new Headers({ upgrade: "WebSocket" })), true);
 * assert.equal(isWebSocketUpgrade(new Headers({ upgrade: "h2c" })), false);
 * ```
 */
export function isWebSocketUpgrade(headers: Headers): boolean {
  const upgrade = headers.get("upgrade");
  return upgrade !== null && listsToken(upgrade, "websocket");
}

/**
 * Throws 400 `bad_request` unless the upgrade is a well-formed WebSocket
 * handshake: version 13 (the answer then says so in
 * `Sec-WebSocket-Version`), a key of 16 base64 bytes, and a `Connection`
 * header listing `upgrade` where the runtime lets the gateway see it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkClientHandshake } from "./handshake.ts";
 * const headers = new Headers({
 *   upgrade: "websocket", connection: "Upgrade",
 *   "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 * });
 * checkClientHandshake(headers, true); // no throw
 * headers.set("sec-websocket-key", "short");
 * assert.throws(() => checkClientHandshake(headers, true));
 * ```
 */
export function checkClientHandshake(
  headers: Headers,
  seesConnectionHeader: boolean,
): void {
  if (headers.get("sec-websocket-version")?.trim() !== "13") {
    throw new GatewayError(
      400,
      "bad_request",
      "The WebSocket handshake must use Sec-WebSocket-Version 13.",
      { "sec-websocket-version": "13" },
    );
  }
  if (!KEY.test(headers.get("sec-websocket-key")?.trim() ?? "")) {
    throw new GatewayError(
      400,
      "bad_request",
      "The WebSocket handshake needs a Sec-WebSocket-Key of 16 base64-encoded bytes.",
    );
  }
  if (seesConnectionHeader && !connectionListed(headers)?.has("upgrade")) {
    throw new GatewayError(
      400,
      "bad_request",
      "The WebSocket handshake needs Connection: Upgrade.",
    );
  }
}

/**
 * The subprotocols the client offers, in its order (empty for none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offeredProtocols } from "./handshake.ts";
 * const headers = new Headers({ "sec-websocket-protocol": "chat.v2, chat.v1" });
 * assert.deepEqual(offeredProtocols(headers), ["chat.v2", "chat.v1"]);
 * ```
 */
export function offeredProtocols(headers: Headers): string[] {
  const value = headers.get("sec-websocket-protocol");
  if (value === null) return [];
  return value.split(",").map((token) => token.trim()).filter((t) => t !== "");
}

/**
 * The request the authenticator should see: for a browser that sent no
 * `Authorization`/`x-api-key` but an `access_token` query parameter, its
 * headers with `Authorization: Bearer <token>` added; otherwise `null` (use
 * the request as it is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryCredentialHeaders } from "./handshake.ts";
 * const headers = queryCredentialHeaders(new Request("http://gw/ws?access_token=k1&room=2"));
 * assert.equal(headers?.get("authorization"), "Bearer k1");
 * ```
 */
export function queryCredentialHeaders(request: Request): Headers | null {
  const { headers } = request;
  if (headers.has("authorization") || headers.has("x-api-key")) return null;
  const query = request.url.indexOf("?");
  if (query === -1) return null;
  const token = new URLSearchParams(request.url.slice(query)).get(
    ACCESS_TOKEN_PARAM,
  );
  if (token === null || token === "") return null;
  const withCredential = new Headers(headers);
  withCredential.set("authorization", `Bearer ${token}`);
  return withCredential;
}

/**
 * `search` without the `access_token` parameter, which is the gateway's
 * credential and never goes upstream (other parameters keep their order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withoutAccessToken } from "./handshake.ts";
 * assert.equal(withoutAccessToken("?access_token=k&room=2"), "?room=2");
 * assert.equal(withoutAccessToken("?access_token=k"), "");
 * ```
 */
export function withoutAccessToken(search: string): string {
  if (!search.includes(ACCESS_TOKEN_PARAM)) return search;
  const params = new URLSearchParams(search);
  params.delete(ACCESS_TOKEN_PARAM);
  const rest = params.toString();
  return rest === "" ? "" : `?${rest}`;
}

/** Client headers that belong to its own handshake; the upstream gets a fresh one. */
export const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "sec-websocket-accept",
]);

function listsToken(value: string, token: string): boolean {
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

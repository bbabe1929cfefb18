/**
 * WebSocket cases of the conformance suite: the same checks through Deno and
 * through workerd, with the documented differences (docs/websocket.md)
 * asserted per runtime.
 */
import assert from "node:assert/strict";
import { header } from "../../_fixtures/raw_client.ts";
import { openSocket, upgradeRequest } from "../../_fixtures/ws_client.ts";
import type { WsOrigin } from "../../_fixtures/ws_origin.ts";
import { rawRequest } from "../../_fixtures/raw_client.ts";
import {
  type ConformanceTarget,
  portOf,
  WS_MAX_MESSAGE_BYTES,
} from "../target.ts";

function wsOriginOf(target: ConformanceTarget): WsOrigin {
  assert.ok(target.wsOrigin, "the WebSocket cases need target.wsOrigin");
  return target.wsOrigin;
}

/** Text and binary echoed in order; the subprotocol is the upstream's choice. */
export async function echoesMessages(target: ConformanceTarget): Promise<void> {
  const origin = wsOriginOf(target);
  const client = await openSocket(`${target.baseUrl}/ws/echo`, {
    protocols: ["chat.v9", "chat.v2"],
  });
  assert.equal(client.socket.protocol, "chat.v2");
  const sent = ["one", new Uint8Array([1, 2, 3]), "three ✓"];
  for (const message of sent) client.socket.send(message);
  for (const message of sent) {
    const got = await client.next();
    if (typeof message === "string") assert.equal(got, message);
    else assert.deepEqual(new Uint8Array(got as ArrayBuffer), message);
  }
  client.socket.close(1000);
  assert.equal((await client.closed).code, 1000);
  assert.equal((await origin.nextClose()).code, 1000);
}

/** Close codes and reasons pass both ways; a close without a code is 1000; too big is 1009. */
export async function passesCloseCodes(
  target: ConformanceTarget,
): Promise<void> {
  const origin = wsOriginOf(target);
  const fromUpstream = await openSocket(
    `${target.baseUrl}/ws/close?code=4002&reason=see%20you`,
  );
  fromUpstream.socket.send("x");
  const closed = await fromUpstream.closed;
  assert.deepEqual([closed.code, closed.reason], [4002, "see you"]);
  await origin.nextClose();

  const fromClient = await openSocket(`${target.baseUrl}/ws/echo`);
  fromClient.socket.close(4001, "bye");
  await fromClient.closed;
  const seen = await origin.nextClose();
  assert.deepEqual([seen.code, seen.reason], [4001, "bye"]);

  const noCode = await openSocket(`${target.baseUrl}/ws/close`);
  noCode.socket.send("x");
  assert.equal((await noCode.closed).code, 1000);
  await origin.nextClose();

  const tooBig = await openSocket(`${target.baseUrl}/ws/echo`);
  tooBig.socket.send(new Uint8Array(WS_MAX_MESSAGE_BYTES + 1));
  assert.equal((await tooBig.closed).code, 1009);
  await origin.nextClose();
}

/**
 * A refused handshake passes back: the status on both runtimes; workerd
 * also gives the refusal's headers and body (Deno's client does not). On
 * Deno a bad `Sec-WebSocket-Key` is 400.
 */
export async function passesARefusal(
  target: ConformanceTarget,
): Promise<void> {
  wsOriginOf(target);
  const res = await rawRequest(
    portOf(target),
    upgradeRequest("/ws/refuse?status=403", {
      host: `127.0.0.1:${portOf(target)}`,
    }),
  );
  assert.equal(res.status, 403);
  if (target.runtime === "workerd") {
    assert.equal(header(res, "x-refused"), "yes");
    assert.equal(new TextDecoder().decode(res.body), "refused");
  }
  // wrangler dev's proxy makes its own handshake toward workerd, so a bad
  // key never reaches the Worker there (Cloudflare's edge checks it too).
  if (target.runtime === "deno") {
    const badKey = await rawRequest(
      portOf(target),
      upgradeRequest("/ws/echo", {
        host: `127.0.0.1:${portOf(target)}`,
        "sec-websocket-key": "bad",
      }),
    );
    assert.equal(badKey.status, 400);
  }
}

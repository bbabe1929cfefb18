/**
 * The Redis client against a real `redis-server`: URL parsing, AUTH and
 * SELECT from the URL, and an outage: commands fail fast while Redis is
 * down, a new connection is tried only after the backoff (on the injected
 * clock), and commands work again once Redis is back.
 */

import assert from "node:assert/strict";
import {
  parseRedisUrl,
  RedisClient,
  RedisUnavailableError,
} from "../../../src/runtime/redis/redis_client.ts";
import { FakeClock } from "../../_fixtures/fake_clock.ts";
import {
  IGNORE_WITHOUT_REDIS,
  startRedis,
} from "../../_fixtures/redis_server.ts";

Deno.test("parseRedisUrl reads every part and names what is wrong", () => {
  assert.deepEqual(parseRedisUrl("rediss://app:pw@[::1]"), {
    hostname: "::1",
    port: 6379,
    tls: true,
    username: "app",
    password: "pw",
    db: 0,
  });
  assert.throws(() => parseRedisUrl("http://redis:6379"), /redis:\/\//);
  assert.throws(() => parseRedisUrl("redis://redis/x"), /database/);
  assert.throws(() => parseRedisUrl("not a url"), /URL/);
});

Deno.test({
  name: "AUTH and SELECT from the URL; a wrong password fails the connection",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    await using redis = await startRedis({ args: ["--requirepass", "s3cret"] });
    const clock = new FakeClock();
    const client = new RedisClient({
      target: parseRedisUrl(`redis://:s3cret@127.0.0.1:${redis.port}/3`),
      clock,
    });
    const wrong = new RedisClient({
      target: parseRedisUrl(`redis://:nope@127.0.0.1:${redis.port}`),
      clock,
    });
    try {
      assert.equal(await client.command(["SET", "k", "v"]), "OK");
      assert.equal(
        await client.command(["CLIENT", "INFO"]).then(String).then((info) =>
          /db=3/.test(info)
        ),
        true,
      );
      await assert.rejects(wrong.command(["PING"]), /AUTH refused/);
    } finally {
      await Promise.all([client.close(), wrong.close()]);
    }
  },
});

Deno.test({
  name:
    "an outage: fail fast, reconnect after the backoff on the injected clock",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    await using redis = await startRedis();
    const clock = new FakeClock();
    const client = new RedisClient({
      target: parseRedisUrl(redis.url),
      clock,
      backoffBaseMs: 100,
    });
    try {
      assert.equal(await client.command(["PING"]), "PONG");
      // The rejection is awaited from the start: it comes while Redis dies.
      const inFlight = assert.rejects(
        client.command(["BLPOP", "never", "0"]),
        RedisUnavailableError,
      );
      await redis.kill();
      await inFlight;
      // The first attempt after a drop goes out at once and is refused...
      await assert.rejects(client.command(["PING"]), /Cannot connect/);
      await redis.restart();
      // ...then no attempt until the backoff has passed, even with Redis back.
      await assert.rejects(
        client.command(["PING"]),
        /next connection attempt in 100 ms/,
      );
      clock.advance(100);
      assert.equal(await client.command(["PING"]), "PONG");
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name:
    "a Redis that hangs: the connection is given up after the reply timeout, and one that hangs in the handshake after the connect timeout",
  ignore: IGNORE_WITHOUT_REDIS,
  async fn() {
    await using redis = await startRedis({ args: ["--requirepass", "pw"] });
    const clock = new FakeClock();
    const client = new RedisClient({
      target: parseRedisUrl(`redis://:pw@127.0.0.1:${redis.port}`),
      clock,
      replyTimeoutMs: 5000,
      connectTimeoutMs: 1000,
    });
    try {
      assert.equal(await client.command(["PING"]), "PONG");
      redis.pause();
      const hung = assert.rejects(
        client.command(["PING"]),
        /no reply within 5000 ms/,
      );
      clock.advance(5000);
      // The next command gives the hung connection up and connects anew;
      // the paused server accepts (the kernel does) but never answers AUTH.
      const next = assert.rejects(
        client.command(["PING"]),
        /no connection within 1000 ms/,
      );
      await hung;
      await clock.advanceAsync(1000);
      await next;
      redis.resume();
      clock.advance(100);
      assert.equal(await client.command(["PING"]), "PONG");
    } finally {
      await client.close();
    }
  },
});

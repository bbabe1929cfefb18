/**
 * Tests of the test fixtures themselves: every Origin endpoint, the raw
 * origin's canned scripts seen through the raw client, incremental reading,
 * and the demo origin of `deno task dev`.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HOP_BY_HOP_HEADERS, Origin } from "../_fixtures/origin.ts";
import {
  RawOrigin,
  resetMidChunked,
  shortBody,
  withHeaders,
} from "../_fixtures/raw_origin.ts";
import {
  header,
  openRaw,
  rawRequest,
  ReadTimeoutError,
} from "../_fixtures/raw_client.ts";
import { demoOrigin } from "../../deploy/deno/demo_origin.ts";
import {
  chooseBrowserSource,
  debianChromiumPresent,
  launchChromium,
} from "../_fixtures/chromium.ts";

const decoder = new TextDecoder();

function get(target: string, extraHeaders = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: test\r\n${extraHeaders}` +
    "Connection: close\r\n\r\n";
}

async function withOrigin(run: (origin: Origin) => Promise<void>) {
  await using origin = await Origin.start();
  await run(origin);
}

async function withRawOrigin(
  script: Parameters<typeof RawOrigin.start>[0],
  run: (origin: RawOrigin) => Promise<void>,
) {
  await using origin = RawOrigin.start(script);
  await run(origin);
}

async function gunzip(bytes: Uint8Array): Promise<string> {
  const plain = new Blob([bytes.slice()]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return await new Response(plain).text();
}

Deno.test("origin /echo returns the request as received, path not normalised", async () => {
  await withOrigin(async (origin) => {
    const body = "hello body";
    const res = await rawRequest(
      origin.port,
      "POST /echo/../x?a=1&b HTTP/1.1\r\nHost: test\r\nX-Probe: yes\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(res.status, 200);
    assert.ok(res.complete);
    const echoed = JSON.parse(decoder.decode(res.body));
    assert.equal(echoed.method, "POST");
    assert.equal(echoed.path, "/echo/../x");
    assert.equal(echoed.search, "?a=1&b");
    assert.deepEqual(
      echoed.headers.find(([name]: string[]) => name === "x-probe"),
      ["x-probe", "yes"],
    );
    assert.equal(echoed.bodyBytes, body.length);
    assert.equal(echoed.body, body);
    const [recorded] = origin.requests;
    assert.equal(recorded.path, "/echo/../x");
    assert.equal(decoder.decode(recorded.body), body);
    assert.equal(origin.hits("/echo"), 1);
    assert.equal(origin.hits("/other"), 0);
  });
});

Deno.test("origin does not compress responses on its own", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(
      origin.port,
      get(`/echo?pad=${"x".repeat(2000)}`, "Accept-Encoding: gzip, br\r\n"),
    );
    assert.equal(header(res, "content-encoding"), undefined);
    assert.equal(JSON.parse(decoder.decode(res.body)).method, "GET");
  });
});

Deno.test("origin /status answers the code with retry headers and body", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(
      origin.port,
      get("/status/503?retry-after=2&retry-after-ms=1500&body=busy"),
    );
    assert.equal(res.status, 503);
    assert.equal(header(res, "retry-after"), "2");
    assert.equal(header(res, "retry-after-ms"), "1500");
    assert.equal(decoder.decode(res.body), "busy");
    const noContent = await rawRequest(origin.port, get("/status/204"));
    assert.equal(noContent.status, 204);
    assert.equal(noContent.framing, "none");
    assert.ok(noContent.complete);
    const empty = await rawRequest(origin.port, get("/status/200"));
    assert.equal(empty.framing, "length");
    assert.equal(empty.body.length, 0);
    assert.ok(empty.complete);
  });
});

Deno.test("origin /stream sends padded, timed, chunked lines", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(
      origin.port,
      get("/stream?chunks=3&interval=40&size=64"),
    );
    assert.ok(res.complete);
    assert.equal(res.framing, "chunked");
    const lines = decoder.decode(res.body).split("\n").slice(0, -1);
    assert.equal(lines.length, 3);
    const parsed = lines.map((line) => JSON.parse(line));
    assert.deepEqual(parsed.map((line) => line.seq), [0, 1, 2]);
    for (const line of lines) assert.equal(line.length + 1, 64);
    // The origin's own timestamps show the pacing, whatever the network did.
    assert.ok(parsed[2].t - parsed[0].t >= 75, `${parsed[2].t - parsed[0].t}`);
    assert.equal(res.chunkTimes.length, 3);
  });
});

Deno.test("openRaw reads a stream chunk by chunk and sees its proper end", async () => {
  await withOrigin(async (origin) => {
    const conn = await openRaw(origin.port);
    try {
      await assert.rejects(() => conn.readChunk(), /readHead\(\) first/);
      await conn.write(get("/stream?chunks=3&interval=10"));
      const head = await conn.readHead();
      assert.equal(head.status, 200);
      assert.equal(conn.framing, "chunked");
      for (let seq = 0; seq < 3; seq++) {
        const chunk = await conn.readChunk();
        assert.ok(chunk);
        assert.equal(JSON.parse(decoder.decode(chunk)).seq, seq);
        assert.equal(conn.complete, false);
      }
      assert.equal(await conn.readChunk(), null);
      assert.equal(conn.complete, true);
    } finally {
      conn.close();
    }
  });
});

Deno.test("origin /slow-headers waits, and reports a client that left", async () => {
  await withOrigin(async (origin) => {
    const started = performance.now();
    const res = await rawRequest(origin.port, get("/slow-headers?ms=60"));
    assert.equal(res.status, 200);
    assert.ok(performance.now() - started >= 55);

    const conn = await openRaw(origin.port);
    await conn.write(get("/slow-headers?ms=30000"));
    await origin.waitForRequests(2);
    conn.close();
    assert.equal(await origin.nextCancel(), "/slow-headers");
  });
});

Deno.test("origin /stall goes silent until the client cancels", async () => {
  await withOrigin(async (origin) => {
    const conn = await openRaw(origin.port);
    await conn.write(get("/stall?chunks=2"));
    await conn.readHead();
    // Deno.serve may coalesce chunks sent back to back into one.
    let received = "";
    for (let reads = 0; reads < 2 && received.length < 16; reads++) {
      received += decoder.decode((await conn.readChunk())!);
    }
    assert.equal(received, "stall 0\nstall 1\n");
    await assert.rejects(() => conn.readChunk(100), ReadTimeoutError);
    conn.close();
    assert.equal(await origin.nextCancel(), "/stall");
    assert.deepEqual(origin.cancels, ["/stall"]);
  });
});

Deno.test("origin /stall?ms ends properly after the silence", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(origin.port, get("/stall?chunks=1&ms=30"));
    assert.ok(res.complete);
    assert.equal(decoder.decode(res.body), "stall 0\n");
  });
});

Deno.test("origin close ends a running stream abnormally", async () => {
  const origin = await Origin.start();
  const conn = await openRaw(origin.port);
  try {
    await conn.write(get("/stall?chunks=1"));
    await conn.readHead();
    assert.ok(await conn.readChunk());
    const closed = origin.close();
    assert.equal(await conn.readChunk(), null);
    assert.equal(conn.complete, false);
    await closed;
  } finally {
    conn.close();
  }
});

Deno.test("origin /gzip serves fixed gzip bytes with their length", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(origin.port, get("/gzip"));
    assert.equal(header(res, "content-encoding"), "gzip");
    assert.equal(header(res, "content-type"), "text/plain");
    assert.equal(
      header(res, "content-length"),
      String(origin.gzipBytes.length),
    );
    assert.deepEqual(res.body, origin.gzipBytes);
    assert.equal(await gunzip(res.body), origin.gzipPlain);
    assert.ok(origin.gzipBytes.length < origin.gzipPlain.length);
    const head = await rawRequest(
      origin.port,
      "HEAD /gzip HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert.equal(head.framing, "none");
    assert.equal(head.body.length, 0);
    assert.ok(head.complete);
  });
});

Deno.test("origin /big streams N patterned bytes with content-length", async () => {
  await withOrigin(async (origin) => {
    const bytes = 200_000;
    const res = await rawRequest(origin.port, get(`/big?bytes=${bytes}`));
    assert.equal(res.framing, "length");
    assert.equal(header(res, "content-length"), String(bytes));
    assert.ok(res.complete);
    assert.equal(res.body.length, bytes);
    for (const offset of [0, 255, 256, 65_537, bytes - 1]) {
      assert.equal(res.body[offset], offset & 0xff);
    }
  });
});

Deno.test("origin /flaky fails the first N requests per key", async () => {
  await withOrigin(async (origin) => {
    const statusOf = async (target: string) =>
      (await rawRequest(origin.port, get(target))).status;
    assert.equal(await statusOf("/flaky?fail=2&key=a"), 503);
    assert.equal(await statusOf("/flaky?fail=2&key=b&status=502"), 502);
    assert.equal(await statusOf("/flaky?fail=2&key=a"), 503);
    assert.equal(await statusOf("/flaky?fail=2&key=a"), 200);
    assert.equal(await statusOf("/flaky?fail=2&key=b&status=502"), 502);
    assert.equal(await statusOf("/flaky?fail=2&key=b&status=502"), 200);
  });
});

Deno.test("origin /upload hashes a streamed body and records chunk times", async () => {
  await withOrigin(async (origin) => {
    const parts = ["first part,", "second part,", "third part"];
    const conn = await openRaw(origin.port);
    try {
      await conn.write(
        "POST /upload HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n",
      );
      await origin.waitForRequests(1);
      for (const part of parts) {
        await conn.write(`${part.length.toString(16)}\r\n${part}\r\n`);
      }
      await conn.write("0\r\n\r\n");
      await conn.readHead();
      const answer = JSON.parse(decoder.decode((await conn.readChunk())!));
      const whole = parts.join("");
      assert.equal(answer.bytes, whole.length);
      assert.equal(
        answer.sha256,
        createHash("sha256").update(whole).digest("hex"),
      );
      const [recorded] = origin.requests;
      assert.equal(recorded.bodyBytes, whole.length);
      assert.equal(decoder.decode(recorded.body), whole);
      assert.ok(recorded.chunkTimes.length >= 1);
    } finally {
      conn.close();
    }
  });
});

Deno.test("origin /hop sends hop-by-hop headers as given", async () => {
  await withOrigin(async (origin) => {
    const res = await rawRequest(
      origin.port,
      "GET /hop HTTP/1.1\r\nHost: test\r\n\r\n",
      { timeoutMs: 2000 },
    );
    for (const [name, value] of Object.entries(HOP_BY_HOP_HEADERS)) {
      assert.equal(header(res, name), value, name);
    }
    assert.equal(header(res, "x-end-to-end"), "kept");
    assert.ok(res.complete);
  });
});

Deno.test("origin answers unknown paths 404 and bounds its waits", async () => {
  await withOrigin(async (origin) => {
    assert.equal((await rawRequest(origin.port, get("/nope"))).status, 404);
    await origin.waitForRequests(1);
    await assert.rejects(() => origin.waitForRequests(2, 20), /not within/);
    await assert.rejects(() => origin.nextCancel(20), /not within/);
  });
});

Deno.test("origin can be driven by fetch", async () => {
  await withOrigin(async (origin) => {
    const res = await fetch(`${origin.url}/echo/fetch`, {
      method: "PUT",
      body: "via fetch",
    });
    const echoed = await res.json();
    assert.equal(echoed.method, "PUT");
    assert.equal(echoed.body, "via fetch");
  });
});

Deno.test("raw client: a short body is not complete", async () => {
  await withRawOrigin(shortBody(100, 10), async (origin) => {
    const res = await rawRequest(origin.port, get("/short"));
    assert.equal(res.status, 200);
    assert.equal(res.framing, "length");
    assert.equal(res.body.length, 10);
    assert.equal(res.complete, false);
    assert.equal(res.timedOut, false);
    assert.equal(origin.requests[0].target, "/short");
  });
});

Deno.test("raw client: a chunked body cut mid-way is not complete", async () => {
  await withRawOrigin(resetMidChunked(2), async (origin) => {
    const res = await rawRequest(origin.port, get("/chunks"));
    assert.equal(res.framing, "chunked");
    assert.equal(decoder.decode(res.body), "chunk 0\nchunk 1\n");
    assert.equal(res.chunkTimes.length, 2);
    assert.equal(res.complete, false);
  });
});

Deno.test("raw client: a well-formed response is complete, bytes exact", async () => {
  const lines = ["Content-Type: text/plain", "X-MiXed-Case: Kept"];
  await withRawOrigin(withHeaders(lines, "hello"), async (origin) => {
    const res = await rawRequest(
      origin.port,
      "GET http://elsewhere.example/abs HTTP/1.1\r\nHost: test\r\nX-Up: 1\r\n\r\n",
    );
    assert.ok(res.complete);
    assert.equal(decoder.decode(res.body), "hello");
    assert.deepEqual(res.headers[1], ["X-MiXed-Case", "Kept"]);
    assert.equal(header(res, "x-mixed-case"), "Kept");
    assert.equal(res.statusLine, "HTTP/1.1 200 OK");
    assert.ok(res.rawHead.endsWith("Content-Length: 5\r\n\r\n"));
    const [head] = origin.requests;
    assert.equal(head.method, "GET");
    assert.equal(head.target, "http://elsewhere.example/abs");
    assert.deepEqual(head.headers, [["Host", "test"], ["X-Up", "1"]]);
  });
});

Deno.test("raw origin reads length and chunked request bodies", async () => {
  const echoBody = async (
    conn: Parameters<Parameters<typeof RawOrigin.start>[0]>[0],
  ) => {
    const body = await conn.readBody();
    await withHeaders([], body)(conn);
  };
  await withRawOrigin(echoBody, async (origin) => {
    const byLength = await rawRequest(
      origin.port,
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert.equal(decoder.decode(byLength.body), "abc");
    const chunked = await rawRequest(
      origin.port,
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "2\r\nde\r\n1\r\nf\r\n0\r\n\r\n",
    );
    assert.equal(decoder.decode(chunked.body), "def");
    assert.deepEqual(origin.errors, []);
  });
});

Deno.test("raw client gives up on a silent server instead of hanging", async () => {
  const silentAfterHead = async (
    conn: Parameters<Parameters<typeof RawOrigin.start>[0]>[0],
  ) => {
    await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
    // Hold the connection open until the origin closes.
    await new Promise((resolve) =>
      conn.signal.addEventListener("abort", resolve, { once: true })
    );
  };
  await withRawOrigin(silentAfterHead, async (origin) => {
    const res = await rawRequest(origin.port, get("/"), { timeoutMs: 100 });
    assert.equal(res.timedOut, true);
    assert.equal(res.complete, false);
    assert.equal(decoder.decode(res.body), "ab");
  });
});

Deno.test("demo origin serves every README endpoint", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    demoOrigin,
  );
  const port = server.addr.port;
  try {
    const json = async (target: string) => {
      const res = await rawRequest(port, get(target));
      return { res, value: JSON.parse(decoder.decode(res.body)) };
    };
    const hello = await json("/hello");
    assert.equal(hello.res.status, 200);
    assert.match(hello.value.message, /Hello/);

    const index = await json("/");
    assert.ok("/down" in index.value.endpoints);

    const stream = await rawRequest(port, get("/stream?tokens=3&interval=10"));
    assert.equal(header(stream, "content-type"), "text/event-stream");
    assert.ok(stream.complete);
    const events = decoder.decode(stream.body).split("\n\n").filter(Boolean);
    assert.equal(events.length, 4);
    assert.equal(JSON.parse(events[2].slice("data: ".length)).index, 2);
    assert.equal(events[3], "data: [DONE]");

    const slow = await json("/slow?ms=30");
    assert.equal(slow.value.waitedMs, 30);

    assert.equal((await json("/flaky?rate=0")).res.status, 200);
    assert.equal((await json("/flaky?rate=1")).res.status, 503);
    const down = await json("/down");
    assert.equal(down.res.status, 503);
    assert.equal(header(down.res, "retry-after"), "1");

    const echo = await rawRequest(
      port,
      "POST /echo?q=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n" +
        "Connection: close\r\n\r\nhi",
    );
    const echoed = JSON.parse(decoder.decode(echo.body));
    assert.deepEqual(
      [echoed.method, echoed.path, echoed.query, echoed.body],
      ["POST", "/echo", { q: "1" }, "hi"],
    );

    const gzipped = await rawRequest(port, get("/gzip"));
    assert.equal(header(gzipped, "content-encoding"), "gzip");
    assert.equal(
      header(gzipped, "content-length"),
      String(gzipped.body.length),
    );
    assert.match(await gunzip(gzipped.body), /byte for byte/);

    assert.equal((await json("/missing")).res.status, 404);
  } finally {
    await server.shutdown();
  }
});

Deno.test("demo origin /stream stops when the client leaves", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    demoOrigin,
  );
  try {
    const conn = await openRaw(server.addr.port);
    await conn.write(get("/stream"));
    await conn.readHead();
    assert.match(decoder.decode((await conn.readChunk())!), /"index":0/);
    conn.close();
  } finally {
    // Resolves only once the abandoned stream is done; the sanitizers then
    // fail the test if its pacing timer were left running.
    await server.shutdown();
  }
});

for (const source of ["debian", "npm"] as const) {
  Deno.test({
    name: `headless Chromium from ${source} renders a page`,
    // Debian's browser is optional; the npm one always installs.
    ignore: source === "debian" && !debianChromiumPresent(),
    async fn() {
      const browser = await launchChromium(source);
      try {
        const page = await browser.newPage();
        await page.setContent(
          "<h1 id=t>ok</h1><script>t.textContent += '!'</script>",
        );
        assert.equal(await page.textContent("#t"), "ok!");
      } finally {
        await browser.close();
      }
    },
  });
}

Deno.test("browser choice: forced by the environment, else Debian's when present", () => {
  assert.equal(chooseBrowserSource("npm", true), "npm");
  assert.equal(chooseBrowserSource("debian", false), "debian");
  assert.equal(chooseBrowserSource(undefined, true), "debian");
  assert.equal(chooseBrowserSource(undefined, false), "npm");
  assert.throws(
    () => chooseBrowserSource("firefox", true),
    /GATEWAY_TEST_BROWSER/,
  );
});

/**
 * The demo origin that `deno task dev` runs next to the gateway, so the
 * README's curl examples work on a fresh machine. A plain web handler (web
 * standards only), so any runtime can serve it.
 *
 * | path | answer |
 * | --- | --- |
 * | `/` | JSON list of these endpoints |
 * | `/hello` | JSON greeting |
 * | `/stream?tokens=20&interval=200` | `text/event-stream`, one token every `interval` ms, like an LLM, then `data: [DONE]` |
 * | `/slow?ms=2000` | headers after `ms` (at most 60 s) |
 * | `/flaky?rate=0.5` | 503 with probability `rate`, else 200 |
 * | `/down` | always 503 |
 * | `/echo` | the request as JSON |
 * | `/gzip` | a pre-compressed body with `content-encoding: gzip` |
 *
 * @module
 */

const encoder = new TextEncoder();

const MAX_SLOW_MS = 60_000;

const TOKENS =
  "The gateway streams every token to you the moment the upstream sends it , with no buffering in between ."
    .split(" ");

const ENDPOINTS: Record<string, string> = {
  "/hello": "JSON greeting",
  "/stream?tokens=20&interval=200": "server-sent events, a token every 200 ms",
  "/slow?ms=2000": "response headers after ms milliseconds",
  "/flaky?rate=0.5": "503 with probability rate",
  "/down": "always 503",
  "/echo": "the request as JSON",
  "/gzip": "a gzip-encoded body",
};

const GZIP_TEXT =
  "This body was compressed by the origin and reaches you byte for byte.\n"
    .repeat(20);

let gzipBody: Promise<Uint8Array> | undefined;

/**
 * Answers one request of the demo origin.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ port: 9000 }, demoOrigin);
 * // curl localhost:9000/stream
 * ```
 */
export function demoOrigin(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  const query = url.searchParams;
  switch (url.pathname) {
    case "/":
      return Response.json({ endpoints: ENDPOINTS });
    case "/hello":
      return Response.json({ message: "Hello from the demo origin" });
    case "/stream":
      return tokenStream(
        numberParam(query, "tokens", 20),
        numberParam(query, "interval", 200),
      );
    case "/slow":
      return slow(request, numberParam(query, "ms", 2000));
    case "/flaky":
      return Math.random() < numberParam(query, "rate", 0.5)
        ? unavailable("flaky: failed this time, try again")
        : Response.json({ ok: true });
    case "/down":
      return unavailable("down: this origin always fails");
    case "/echo":
      return echo(request, url);
    case "/gzip":
      return gzipResponse();
    default:
      return Response.json({ error: "not found", endpoints: ENDPOINTS }, {
        status: 404,
      });
  }
}

/** Server-sent events, one token per event, paced like a language model. */
function tokenStream(count: number, intervalMs: number): Response {
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent > 0) {
        await new Promise((resolve) => timer = setTimeout(resolve, intervalMs));
      }
      if (sent === count) {
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        return controller.close();
      }
      const event = { index: sent, token: TOKENS[sent % TOKENS.length] };
      controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
      sent++;
    },
    // The client left: stop the pacing timer so nothing lingers.
    cancel() {
      clearTimeout(timer);
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    },
  });
}

/** Waits before answering; gives up early if the client leaves. */
async function slow(request: Request, ms: number): Promise<Response> {
  const waitMs = Math.min(Math.max(ms, 0), MAX_SLOW_MS);
  await new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      request.signal.removeEventListener("abort", onAbort);
      resolve();
    }, waitMs);
    request.signal.addEventListener("abort", onAbort, { once: true });
  });
  return Response.json({ waitedMs: waitMs });
}

function unavailable(detail: string): Response {
  return Response.json({ error: detail }, {
    status: 503,
    headers: { "retry-after": "1" },
  });
}

async function echo(request: Request, url: URL): Promise<Response> {
  return Response.json({
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(request.headers),
    body: await request.text(),
  });
}

async function gzipResponse(): Promise<Response> {
  gzipBody ??= new Response(
    new Blob([GZIP_TEXT]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer().then((buffer) => new Uint8Array(buffer));
  const bytes = await gzipBody;
  return new Response(bytes.slice(), {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-encoding": "gzip",
      "content-length": String(bytes.length),
    },
  });
}

function numberParam(query: URLSearchParams, name: string, fallback: number) {
  const value = Number(query.get(name) ?? NaN);
  return Number.isFinite(value) ? value : fallback;
}

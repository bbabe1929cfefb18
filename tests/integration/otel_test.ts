/**
 * Tracing under Deno's built-in OpenTelemetry, end to end: a tiny OTLP/HTTP
 * collector on 127.0.0.1, the fixture origin, and Deno processes run with
 * `OTEL_DENO=true` exporting to the collector as OTLP/JSON.
 *
 * 1. What Deno does on its own (re-check on a Deno upgrade): a server span
 *    for `Deno.serve`, a client span for `fetch`, both in the client's
 *    trace, and `fetch` appending its own `traceparent` to one already set.
 * 2. `otelTraceContinuer` inside a real `Deno.serve` handler.
 * 3. The real gateway (`deploy/deno/main.ts`) with OTel on.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  killQuietly,
  REPO_ROOT,
  spawnCaptured,
  type Spawned,
  waitForExit,
} from "../_fixtures/child_process.ts";
import { startGatewayProcess } from "../_fixtures/gateway_process.ts";
import { Origin } from "../_fixtures/origin.ts";

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;
/** Bound on waiting for exported spans (the export delay is 100 ms). */
const SPAN_WAIT_MS = 10_000;
/** Bound on a child's start-up (Deno may still be loading npm packages). */
const START_TIMEOUT_MS = 60_000;

/** One exported span, flattened from OTLP/JSON. */
interface ExportedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  serviceName: unknown;
}

/** A minimal OTLP/HTTP collector: keeps the spans of JSON trace exports. */
interface Collector {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` for it. */
  readonly endpoint: string;
  readonly spans: ExportedSpan[];
  /** Trace exports that came as protobuf (not parsed here). */
  readonly protobufExports: number;
  /** Resolves once `matches` holds for the spans so far; rejects after `timeoutMs`. */
  waitForSpans(
    matches: (spans: ExportedSpan[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
  close(): Promise<void>;
}

function startCollector(): Collector {
  const spans: ExportedSpan[] = [];
  const waiters = new Set<() => void>();
  let protobufExports = 0;
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const json = request.headers.get("content-type")?.includes("json");
      const body = await request.text();
      if (request.method !== "POST") return new Response(null, { status: 405 });
      // Logs and metrics exports are accepted and ignored.
      if (path === "/v1/traces") {
        if (json) spans.push(...flattenSpans(JSON.parse(body)));
        else protobufExports++;
        for (const wake of [...waiters]) wake();
      }
      return json ? Response.json({}) : new Response(null, {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    spans,
    get protobufExports() {
      return protobufExports;
    },
    waitForSpans(matches, what, timeoutMs = SPAN_WAIT_MS) {
      if (matches(spans)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `Cannot wait for ${what}: not within ${timeoutMs} ms; spans: ` +
                JSON.stringify(spans, null, 1),
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (!matches(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () => server.shutdown(),
  };
}

type OtlpValue = Record<string, unknown>;
type OtlpAttribute = { key: string; value: OtlpValue };

/** OTLP/JSON `resourceSpans` to flat spans with plain attribute values. */
function flattenSpans(
  exported: {
    resourceSpans: {
      resource: { attributes: OtlpAttribute[] };
      scopeSpans: {
        spans: (Omit<ExportedSpan, "attributes" | "serviceName"> & {
          attributes: OtlpAttribute[];
        })[];
      }[];
    }[];
  },
): ExportedSpan[] {
  return exported.resourceSpans.flatMap((resource) => {
    const serviceName = attributeMap(resource.resource.attributes)[
      "service.name"
    ];
    return resource.scopeSpans.flatMap((scope) =>
      scope.spans.map((span) => ({
        name: span.name,
        kind: span.kind,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        attributes: attributeMap(span.attributes),
        serviceName,
      }))
    );
  });
}

function attributeMap(attributes: OtlpAttribute[]): Record<string, unknown> {
  return Object.fromEntries(
    attributes.map(({ key, value }) => [key, Object.values(value)[0]]),
  );
}

/** The environment that turns Deno's OTel on and points it at `collector`. */
function otelEnv(collector: Collector): Record<string, string> {
  return {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    // Spans leave every 100 ms instead of every 5 s (or only at exit).
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_SERVICE_NAME: "otel-test",
  };
}

/** The `traceparent` values the origin received, split at commas. */
function traceparentsReceived(origin: Origin): string[] {
  const request = origin.requests.at(-1);
  assert(request !== undefined, "the origin got no request");
  const value = request.headers.get("traceparent");
  assert(value !== null, "the origin got no traceparent");
  return value.split(",").map((part) => part.trim());
}

function parentIdOf(traceparent: string): string {
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  return traceparent.split("-")[2];
}

function traceIdOf(traceparent: string): string {
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  return traceparent.split("-")[1];
}

/**
 * A `Deno.serve` handler in a child process under OTel that fetches
 * `<origin>/echo` and answers `{ traceId }`. `mode` is `own-traceparent` (it
 * sets a traceparent itself, as the gateway does without OTel wiring) or
 * `continuer` (it uses `otelTraceContinuer` and sets none).
 */
const TRACED_APP = `
import { otelTraceContinuer } from ${
  JSON.stringify(new URL("../../src/runtime/deno/otel.ts", import.meta.url))
};
import { continueTrace } from ${
  JSON.stringify(new URL("../../src/http/traceparent.ts", import.meta.url))
};
const [origin, mode] = Deno.args;
const continueOtelTrace = otelTraceContinuer();
const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(JSON.stringify({ msg: "listening", port })),
}, async (request) => {
  const headers = new Headers();
  let traceId;
  if (mode === "own-traceparent") {
    const own = continueTrace(request.headers.get("traceparent"));
    headers.set("traceparent", own.traceparent);
    traceId = own.traceId;
  } else {
    traceId = continueOtelTrace(request, { name: "api", path: "/api/*" }).traceId;
  }
  await (await fetch(origin + "/echo", { headers })).body?.cancel();
  return Response.json({ traceId });
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
`;

interface TracedApp {
  baseUrl: string;
  stop(): Promise<void>;
}

async function startTracedApp(
  dir: string,
  origin: Origin,
  mode: "own-traceparent" | "continuer",
  collector: Collector,
): Promise<TracedApp> {
  const script = `${dir}/traced_app.ts`;
  await Deno.writeTextFile(script, TRACED_APP);
  const spawned: Spawned = spawnCaptured(Deno.execPath(), [
    "run",
    "--allow-all",
    // The script lives in a temp dir: take the repo's import map.
    `--config=${REPO_ROOT}deno.json`,
    script,
    origin.url,
    mode,
  ], otelEnv(collector));
  const stop = async () => {
    killQuietly(spawned.child, "SIGTERM");
    await waitForExit(spawned, 10_000);
  };
  try {
    const port = await spawned.stdout.waitFor((line) => {
      if (!line.startsWith("{")) return undefined;
      const parsed = JSON.parse(line);
      return parsed.msg === "listening" ? parsed.port as number : undefined;
    }, START_TIMEOUT_MS);
    return { baseUrl: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw new Error(
      `Cannot start the traced app: ${(error as Error).message}\n` +
        spawned.stderr.tail(),
    );
  }
}

/** Runs `body` with a collector, an origin and a temp dir, closing all after. */
async function withSetup(
  body: (collector: Collector, origin: Origin, dir: string) => Promise<void>,
): Promise<void> {
  const collector = startCollector();
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "otel-test-" });
  try {
    await body(collector, origin, dir);
  } finally {
    await origin.close();
    await collector.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The exported server span in `traceId` and the client span under it. */
async function serverAndClientSpans(
  collector: Collector,
  traceId: string,
): Promise<{ server: ExportedSpan; client: ExportedSpan }> {
  const find = () => {
    const server = collector.spans.find((span) =>
      span.kind === SERVER && span.traceId === traceId
    );
    const client = collector.spans.find((span) =>
      span.kind === CLIENT && span.traceId === traceId &&
      span.parentSpanId === server?.spanId
    );
    return server && client ? { server, client } : undefined;
  };
  await collector.waitForSpans(
    () => find() !== undefined,
    `a server span and its client span in trace ${traceId}`,
  );
  return find()!;
}

Deno.test("Deno OTel: Deno.serve and fetch spans join the client's trace; fetch appends its own traceparent to one already set", async () => {
  await withSetup(async (collector, origin, dir) => {
    const app = await startTracedApp(dir, origin, "own-traceparent", collector);
    try {
      const response = await fetch(`${app.baseUrl}/api/x`, {
        headers: { traceparent: CLIENT_TRACEPARENT },
      });
      assert.deepEqual(response.status, 200);
      await response.body?.cancel();

      const { server, client } = await serverAndClientSpans(
        collector,
        CLIENT_TRACE,
      );
      assert.deepEqual(server.parentSpanId, CLIENT_SPAN);
      assert.deepEqual(server.serviceName, "otel-test");
      assert.deepEqual(client.attributes["url.full"], `${origin.url}/echo`);
      assert.deepEqual(collector.protobufExports, 0);
      // The reason the gateway must not set traceparent under OTel: the
      // origin gets two values, the app's own (a span no one exports) first.
      const received = traceparentsReceived(origin);
      assert.deepEqual(received.length, 2);
      assert(parentIdOf(received[0]) !== client.spanId);
      assert.deepEqual(parentIdOf(received[1]), client.spanId);
    } finally {
      await app.stop();
    }
  });
});

Deno.test("otelTraceContinuer: one traceparent upstream naming the exported client span; trace id and span name from Deno's server span", async () => {
  await withSetup(async (collector, origin, dir) => {
    const app = await startTracedApp(dir, origin, "continuer", collector);
    try {
      const joined = await fetch(`${app.baseUrl}/api/x`, {
        headers: { traceparent: CLIENT_TRACEPARENT },
      });
      assert.deepEqual(await joined.json(), { traceId: CLIENT_TRACE });
      const { server, client } = await serverAndClientSpans(
        collector,
        CLIENT_TRACE,
      );
      assert.deepEqual(server.parentSpanId, CLIENT_SPAN);
      assert.deepEqual(server.name, "GET /api/*");
      assert.deepEqual(server.attributes["http.route"], "/api/*");
      assert.deepEqual(server.attributes["gateway.route"], "api");
      const received = traceparentsReceived(origin);
      assert.deepEqual(received.length, 1);
      assert.deepEqual(traceIdOf(received[0]), CLIENT_TRACE);
      assert.deepEqual(parentIdOf(received[0]), client.spanId);

      // No client traceparent: Deno starts the trace; the id returned for
      // the access log is that trace's.
      const started = await fetch(`${app.baseUrl}/api/y`);
      const { traceId } = await started.json();
      assert.match(traceId, /^[0-9a-f]{32}$/);
      assert(traceId !== CLIENT_TRACE);
      const fresh = await serverAndClientSpans(collector, traceId);
      assert.deepEqual(fresh.server.parentSpanId, "");
      assert.deepEqual(traceparentsReceived(origin), [
        `00-${traceId}-${fresh.client.spanId}-01`,
      ]);
    } finally {
      await app.stop();
    }
  });
});

Deno.test("gateway process with OTEL_DENO=true: server and upstream spans in the client's trace, and the origin's traceparent in it", async () => {
  await withSetup(async (collector, origin) => {
    const gateway = await startGatewayProcess({
      config: {
        routes: [{
          name: "api",
          path: "/api/*",
          upstreams: [origin.url],
          stripPrefix: "/api",
        }],
      },
      env: otelEnv(collector),
    });
    try {
      const response = await fetch(`${gateway.baseUrl}/api/echo`, {
        headers: { traceparent: CLIENT_TRACEPARENT, tracestate: "vendor=1" },
      });
      assert.deepEqual(response.status, 200);
      await response.body?.cancel();

      const { server, client } = await serverAndClientSpans(
        collector,
        CLIENT_TRACE,
      );
      assert.deepEqual(server.parentSpanId, CLIENT_SPAN);
      assert.deepEqual(client.attributes["url.full"], `${origin.url}/echo`);
      const received = traceparentsReceived(origin);
      for (const value of received) {
        assert.deepEqual(traceIdOf(value), CLIENT_TRACE);
      }
      assert(
        received.some((value) => parentIdOf(value) === client.spanId),
        `no traceparent names the exported client span: ${received}`,
      );
      assert.deepEqual(
        origin.requests.at(-1)?.headers.get("tracestate"),
        "vendor=1",
      );
      const access = await gateway.waitForLog((line) => line.msg === "access");
      assert.deepEqual(access.traceId, CLIENT_TRACE);
    } finally {
      await gateway.stop();
    }
  });
});

/**
 * Whether the gateway uses `otelTraceContinuer` yet (the lead wires it into
 * `start_from_env.ts` and the forward stage); until then the gateway still
 * sets its own traceparent and the test below cannot pass.
 */
const GATEWAY_USES_OTEL_CONTINUER = (await Deno.readTextFile(
  new URL("../../src/runtime/deno/start_from_env.ts", import.meta.url),
)).includes("otelTraceContinuer");

Deno.test({
  name:
    "gateway process with OTEL_DENO=true: one traceparent upstream naming the exported client span; access log trace id is the span's",
  ignore: !GATEWAY_USES_OTEL_CONTINUER,
  fn: async () => {
    await withSetup(async (collector, origin) => {
      const gateway = await startGatewayProcess({
        config: {
          routes: [{
            name: "api",
            path: "/api/*",
            upstreams: [origin.url],
            stripPrefix: "/api",
          }],
        },
        env: otelEnv(collector),
      });
      try {
        const joined = await fetch(`${gateway.baseUrl}/api/echo/joined`, {
          headers: { traceparent: CLIENT_TRACEPARENT },
        });
        await joined.body?.cancel();
        const { server, client } = await serverAndClientSpans(
          collector,
          CLIENT_TRACE,
        );
        assert.equal(server.name, "GET /api/*");
        assert.equal(server.attributes["gateway.route"], "api");
        assert.deepEqual(traceparentsReceived(origin), [
          `00-${CLIENT_TRACE}-${client.spanId}-01`,
        ]);

        // No client traceparent: the trace Deno starts is the one logged.
        const started = await fetch(`${gateway.baseUrl}/api/echo/started`);
        await started.body?.cancel();
        const access = await gateway.waitForLog((line) =>
          line.msg === "access" && line.path === "/api/echo/started"
        );
        assert.equal(typeof access.traceId, "string");
        const fresh = await serverAndClientSpans(
          collector,
          access.traceId as string,
        );
        assert.deepEqual(traceparentsReceived(origin), [
          `00-${access.traceId}-${fresh.client.spanId}-01`,
        ]);
      } finally {
        await gateway.stop();
      }
    });
  },
});

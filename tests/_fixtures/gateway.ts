/**
 * An in-process gateway for integration tests: the real `serveGateway`
 * (Deno.serve on 127.0.0.1, port 0) with a config given as an object, log
 * lines captured, and an in-memory breaker store unless one is given.
 */
import { validateConfig } from "../../src/config/validate_config.ts";
import type { GatewayOptions } from "../../src/gateway.ts";
import {
  serveGateway,
  type ServingGateway,
} from "../../src/runtime/deno/serve_gateway.ts";

/** A served test gateway; `await using` shuts it down at scope end. */
export interface TestGateway extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly serving: ServingGateway;
  /** Every log line, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Access-log lines only. */
  accessLogs(): Record<string, unknown>[];
  /** Resolves with the next access line matching `predicate` (bounded wait). */
  waitForAccessLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export function startTestGateway(
  rawConfig: unknown,
  options: Omit<GatewayOptions, "config" | "logSink"> & {
    env?: Record<string, string>;
    drainMs?: number;
    /** The port to listen on; default: any free one. */
    port?: number;
  } = {},
): Promise<TestGateway> {
  const result = validateConfig(rawConfig, (name) => options.env?.[name]);
  if (!result.ok) {
    throw new Error(`invalid test config:\n${result.errors.join("\n")}`);
  }
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const serving = serveGateway({
    ...options,
    config: result.config,
    port: options.port ?? 0,
    hostname: "127.0.0.1",
    drainMs: options.drainMs ?? 5_000,
    logSink: (line) => {
      logs.push(JSON.parse(line));
      for (const wake of waiters) wake();
    },
  });
  const port = serving.port;
  const accessLogs = () => logs.filter((line) => line.msg === "access");
  return Promise.resolve({
    url: `http://127.0.0.1:${port}`,
    port,
    serving,
    logs,
    accessLogs,
    waitForAccessLog(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = accessLogs().find(predicate);
          if (found === undefined) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error("no matching access log line in time"));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = () => void check();
        if (!check()) waiters.add(wake);
      });
    },
    async close() {
      await serving.shutdown();
    },
    async [Symbol.asyncDispose]() {
      await serving.shutdown();
    },
  });
}

/** A one-route config pointing at `upstreams`, with `policy` merged in. */
export function routeConfig(
  upstreams: (string | { url: string; weight?: number; backup?: boolean })[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    routes: [{
      name: "test",
      path: "/api/*",
      upstreams,
      stripPrefix: "/api",
      ...extra,
    }],
  };
}

/**
 * The upstream-pool scenario of `deno task bench`: three origins behind one
 * route — one slow (every answer 10× the others' p99), one failing 20 % of
 * its requests with 503, one healthy, listed in that order — and the same
 * load through the gateway with `balance` `failover`, `round_robin` and
 * `p2c`, and through nginx round robin with `max_fails`. Reports p50, p99
 * and the share of requests the client saw fail.
 */
import {
  freePort,
  type ProcessGroup,
  readListeningPort,
  waitForPort,
} from "./processes.ts";
import { GATEWAY_ENTRY, repoRootPath } from "./gateway.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** What a healthy origin takes per answer, and what the slow one takes (10×). */
const FAST_MS = 2;
const SLOW_MS = 10 * FAST_MS * 2; // 10× the fast origins' p99 (≈ 2 × FAST_MS with timer slack)
const FAILING_SHARE = 0.2;

export interface PoolScenarioPlan {
  warmupSeconds: number;
  seconds: number;
  connections: number;
  /** CPU list for the proxy under test; `null` unpinned. */
  proxyCpus: string | null;
  /** CPU list for wrk. */
  loadCpus: string | null;
  nginx: boolean;
}

export interface PoolScenarioRow {
  label: string;
  result?: WrkResult & { errorRate: number };
  skipped?: string;
}

interface Origins {
  urls: string[];
  close(): Promise<void>;
}

/** The three origins, in this process (they only sleep and answer). */
function startOrigins(): Origins {
  const body = "x".repeat(1024);
  const sleep = (ms: number) =>
    new Promise((resolve) => setTimeout(resolve, ms));
  const serve = (handler: () => Promise<Response>) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const servers = [
    serve(async () => (await sleep(SLOW_MS), new Response(body))),
    serve(async () => {
      await sleep(FAST_MS);
      return Math.random() < FAILING_SHARE
        ? new Response("failing", { status: 503 })
        : new Response(body);
    }),
    serve(async () => (await sleep(FAST_MS), new Response(body))),
  ];
  return {
    urls: servers.map((server) => `http://127.0.0.1:${server.addr.port}`),
    close: async () => {
      await Promise.all(servers.map((server) => server.shutdown()));
    },
  };
}

/** A proxy started for the scenario. */
interface StartedPoolProxy {
  port: number;
  stop(): Promise<void>;
}

async function startPoolGateway(
  group: ProcessGroup,
  upstreams: string[],
  policy: Record<string, unknown>,
  cpus: string | null,
): Promise<StartedPoolProxy> {
  const dir = await Deno.makeTempDir({ prefix: "bench-pools-" });
  await Deno.writeTextFile(
    `${dir}/gateway.json`,
    JSON.stringify({
      log: { sampleRate: 0 },
      routes: [{ name: "pool", path: "/*", upstreams, policy }],
    }),
  );
  const process = group.spawn(
    `gateway (${JSON.stringify(policy)})`,
    Deno.execPath(),
    ["run", "-A", GATEWAY_ENTRY],
    {
      cpus,
      cwd: repoRootPath,
      env: {
        GATEWAY_CONFIG: `${dir}/gateway.json`,
        GATEWAY_KV_PATH: `${dir}/gateway.kv`,
        GATEWAY_DRAIN_MS: "500",
        PORT: "0",
        HOSTNAME: "127.0.0.1",
      },
    },
  );
  process.exited.finally(() =>
    Deno.remove(dir, { recursive: true }).catch(() => {})
  );
  const port = await readListeningPort(process, 30_000);
  return {
    port,
    stop: async () => {
      await group.stop(process);
    },
  };
}

/** nginx round robin with `max_fails=1 fail_timeout=10s`, retrying like the gateway does. */
export function nginxPoolConfig(
  prefix: string,
  port: number,
  upstreams: string[],
): string {
  const servers = upstreams.map((url) =>
    `    server ${url.slice("http://".length)} max_fails=1 fail_timeout=10s;`
  ).join("\n");
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream pool {
${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 3;
    }
  }
}
`;
}

async function startPoolNginx(
  group: ProcessGroup,
  upstreams: string[],
  cpus: string | null,
): Promise<StartedPoolProxy> {
  const prefix = await Deno.makeTempDir({ prefix: "bench-pools-nginx-" });
  const port = freePort();
  const configPath = `${prefix}/nginx.conf`;
  await Deno.writeTextFile(
    configPath,
    nginxPoolConfig(prefix, port, upstreams),
  );
  const process = group.spawn(
    "nginx (pool)",
    "nginx",
    ["-p", prefix, "-e", `${prefix}/error.log`, "-c", configPath],
    { cpus },
  );
  process.exited.finally(() =>
    Deno.remove(prefix, { recursive: true }).catch(() => {})
  );
  await waitForPort(process, port, 10_000);
  return {
    port,
    stop: async () => {
      await group.stop(process);
    },
  };
}

/** Runs the scenario for each proxy in turn (one at a time, same load). */
export async function measurePools(
  group: ProcessGroup,
  plan: PoolScenarioPlan,
  log: (line: string) => void,
): Promise<PoolScenarioRow[]> {
  const origins = startOrigins();
  const rows: PoolScenarioRow[] = [];
  const targets: [string, () => Promise<StartedPoolProxy>][] = [];
  const variants: [string, Record<string, unknown>][] = [
    ["gateway failover", { balance: "failover" }],
    ["gateway round_robin", { balance: "round_robin" }],
    ["gateway p2c", { balance: "p2c" }],
    // nginx retries at once; the gateway's default backoff waits 0–50 ms.
    ["gateway p2c, retry without backoff", {
      balance: "p2c",
      retry: { baseMs: 0, maxMs: 0 },
    }],
    ["gateway round_robin, retry without backoff", {
      balance: "round_robin",
      retry: { baseMs: 0, maxMs: 0 },
    }],
  ];
  for (const [label, policy] of variants) {
    targets.push([
      label,
      () => startPoolGateway(group, origins.urls, policy, plan.proxyCpus),
    ]);
  }
  if (plan.nginx) {
    targets.push([
      "nginx round robin, max_fails=1",
      () => startPoolNginx(group, origins.urls, plan.proxyCpus),
    ]);
  }
  try {
    for (const [label, start] of targets) {
      log(`  pools: ${label}`);
      const proxy = await start().catch((error: Error) => error);
      if (proxy instanceof Error) {
        rows.push({ label, skipped: proxy.message });
        continue;
      }
      try {
        const url = `http://127.0.0.1:${proxy.port}/pool`;
        const run = { url, connections: plan.connections, cpus: plan.loadCpus };
        await runWrk(group, { ...run, durationSeconds: plan.warmupSeconds });
        const result = await runWrk(group, {
          ...run,
          durationSeconds: plan.seconds,
        });
        const total = result.requestsPerSecond * plan.seconds;
        rows.push({
          label,
          result: {
            ...result,
            errorRate: total > 0 ? result.errors / total : 0,
          },
        });
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await origins.close();
  }
  return rows;
}

/** The scenario's Markdown table. */
export function renderPools(
  rows: PoolScenarioRow[],
  plan: PoolScenarioPlan,
): string {
  const lines = [
    `### Upstream pools: one slow (${SLOW_MS} ms vs ${FAST_MS} ms), one failing ${
      FAILING_SHARE * 100
    } % (503), one healthy, in that order`,
    "",
    `wrk -t1 -c${plan.connections} -d${plan.seconds}s after ${plan.warmupSeconds} s warm-up, each proxy alone; retries on 502/503/504 (gateway defaults; nginx proxy_next_upstream, 3 tries).`,
    "",
    "| proxy | req/s | p50 | p99 | errors seen by clients |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    if (row.result === undefined) {
      lines.push(`| ${row.label} | skipped: ${row.skipped} | | | |`);
      continue;
    }
    const r = row.result;
    lines.push(
      `| ${row.label} | ${r.requestsPerSecond.toFixed(0)} | ${
        r.p50Ms.toFixed(1)
      } ms | ${r.p99Ms.toFixed(1)} ms | ${(r.errorRate * 100).toFixed(2)} % |`,
    );
  }
  return lines.join("\n") + "\n";
}

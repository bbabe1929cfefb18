/**
 * Config reload without a restart, on the real gateway process
 * (`deploy/deno/main.ts`): SIGHUP under load — a stream started before it
 * completes on the old config, requests after it follow the new routes, a
 * breaker of an unchanged (route, upstream) keeps its state, no request
 * fails meanwhile — and a bad config changes nothing; then the Kubernetes
 * ConfigMap way (`..data` symlink swap) with `GATEWAY_CONFIG_WATCH=1`.
 */
import assert from "node:assert/strict";
import { Origin } from "../_fixtures/origin.ts";
import { openRaw, type RawConnection } from "../_fixtures/raw_client.ts";
import {
  type GatewayProcess,
  startGatewayProcess,
} from "../_fixtures/gateway_process.ts";

const decoder = new TextDecoder();
const ADMIN = "reload-admin-token-0123456789";
const auth = { authorization: `Bearer ${ADMIN}` };

function route(name: string, upstream: string) {
  return {
    name,
    path: `/${name}/*`,
    upstreams: [upstream],
    stripPrefix: `/${name}`,
  };
}

function configWith(...routes: unknown[]) {
  return { admin: { token: ADMIN }, routes };
}

async function status(gateway: GatewayProcess, path: string): Promise<number> {
  const res = await fetch(`${gateway.baseUrl}${path}`);
  await res.body?.cancel();
  return res.status;
}

async function breakerState(
  gateway: GatewayProcess,
  name: string,
): Promise<string | undefined> {
  const res = await fetch(`${gateway.baseUrl}/_gateway/breakers`, {
    headers: auth,
  });
  const { breakers } = await res.json();
  return breakers.find((b: { route: string }) => b.route === name)?.state;
}

async function metricsText(gateway: GatewayProcess): Promise<string> {
  const res = await fetch(`${gateway.baseUrl}/_gateway/metrics`, {
    headers: auth,
  });
  return await res.text();
}

/** Sends GETs to `path` one after another until `stop` resolves; returns every status. */
async function loadUntil(
  gateway: GatewayProcess,
  path: string,
  stop: Promise<unknown>,
): Promise<number[]> {
  let stopped = false;
  stop.finally(() => stopped = true);
  const statuses: number[] = [];
  // Bounded: stop comes within the log wait's 5 s; 20 more after it.
  for (let extra = 0; extra < 20 && statuses.length < 5_000;) {
    statuses.push(await status(gateway, path));
    if (stopped) extra++;
  }
  return statuses;
}

async function readStream(
  conn: RawConnection,
  first: Uint8Array,
): Promise<number[]> {
  let text = decoder.decode(first);
  for (let chunk; (chunk = await conn.readChunk()) !== null;) {
    text += decoder.decode(chunk);
  }
  return text.trim().split("\n").map((line) => JSON.parse(line).seq);
}

Deno.test("SIGHUP under load: an open stream completes, new requests follow the new routes, kept breakers keep state, a bad config changes nothing", async () => {
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "reload-" });
  const configPath = `${dir}/gateway.json`;
  const before = configWith(
    route("stream", origin.url),
    route("old", origin.url),
    route("kept", `${origin.url}/echo`),
    route("steady", `${origin.url}/echo`),
  );
  await Deno.writeTextFile(configPath, JSON.stringify(before));
  const gateway = await startGatewayProcess({
    config: before,
    env: { GATEWAY_CONFIG: configPath },
  });
  let stream: RawConnection | undefined;
  try {
    assert.equal(await status(gateway, "/old/echo"), 200);
    assert.equal(await status(gateway, "/new/echo"), 404);
    const query = `route=kept&upstream=${
      encodeURIComponent(`${origin.url}/echo`)
    }`;
    const forced = await fetch(
      `${gateway.baseUrl}/_gateway/breakers/open?${query}`,
      { method: "POST", headers: auth },
    );
    await forced.body?.cancel();
    assert.equal(await breakerState(gateway, "kept"), "open");

    // 10 chunks 100 ms apart: about 1 s, across the reload.
    stream = await openRaw(gateway.port);
    await stream.write(
      "GET /stream/stream?chunks=10&interval=100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal((await stream.readHead()).status, 200);
    const first = await stream.readChunk();
    assert.ok(first !== null);

    // "old" goes, "new" comes, "stream" moves to another upstream path.
    const after = configWith(
      route("stream", `${origin.url}/echo`),
      route("new", origin.url),
      route("kept", `${origin.url}/echo`),
      route("steady", `${origin.url}/echo`),
    );
    await Deno.writeTextFile(configPath, JSON.stringify(after));
    const reloaded = gateway.waitForLog((l) => l.msg === "config reloaded");
    const load = loadUntil(gateway, "/steady/x", reloaded);
    gateway.kill("SIGHUP");
    const line = await reloaded;
    assert.equal(line.trigger, "SIGHUP");
    assert.equal(line.routes, 4);
    const statuses = await load;
    assert.ok(
      statuses.every((s) => s === 200),
      `a request failed around the reload: ${
        statuses.filter((s) => s !== 200)
      }`,
    );

    assert.equal(await status(gateway, "/new/echo"), 200);
    assert.equal(await status(gateway, "/old/echo"), 404);
    assert.equal(await breakerState(gateway, "kept"), "open");
    assert.equal(await breakerState(gateway, "old"), undefined);

    // The stream began on the old route (origin /stream) and ends there, whole.
    assert.deepEqual(await readStream(stream, first), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    assert.equal(stream.complete, true, "the stream did not end cleanly");

    // A bad config: every problem logged, nothing changes.
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        admin: { token: ADMIN },
        routes: [{ name: "broken", path: "nope", upstreams: ["ftp://x"] }],
      }),
    );
    const refusedLog = gateway.waitForLog((l) =>
      l.msg === "config reload refused; the running config stays"
    );
    gateway.kill("SIGHUP");
    const refused = await refusedLog;
    assert.deepEqual(refused.errors, [
      'routes[0].path: must be a path pattern starting with "/", got "nope"',
      "routes[0].upstreams[0]: must use http or https, got ftp:",
    ]);
    assert.equal(await status(gateway, "/new/echo"), 200);
    assert.equal(await status(gateway, "/broken/x"), 404);
    assert.equal(await breakerState(gateway, "kept"), "open");
    const metrics = await metricsText(gateway);
    assert.match(
      metrics,
      /^gateway_config_reloads_total\{result="applied"\} 1$/m,
    );
    assert.match(
      metrics,
      /^gateway_config_reloads_total\{result="refused"\} 1$/m,
    );
    assert.match(metrics, /^gateway_config_last_reload_successful 0$/m);
    // Counters survive the reload: the requests before it still count.
    assert.match(
      metrics,
      /^gateway_requests_total\{route="old",method="GET",status="200"\} 1$/m,
    );
  } finally {
    stream?.close();
    await gateway.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GATEWAY_CONFIG_WATCH: a ConfigMap-style ..data swap reloads; unchanged text does not", async () => {
  const origin = await Origin.start();
  const dir = await Deno.makeTempDir({ prefix: "configmap-" });
  // What the kubelet makes of a ConfigMap volume.
  const version = async (name: string, config: unknown) => {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(
      `${dir}/${name}/gateway.json`,
      JSON.stringify(config),
    );
  };
  const first = configWith(route("one", origin.url));
  await version("..2026_01", first);
  await Deno.symlink("..2026_01", `${dir}/..data`);
  await Deno.symlink("..data/gateway.json", `${dir}/gateway.json`);
  const gateway = await startGatewayProcess({
    config: first,
    env: { GATEWAY_CONFIG: `${dir}/gateway.json`, GATEWAY_CONFIG_WATCH: "1" },
  });
  try {
    assert.equal(await status(gateway, "/one/echo"), 200);
    await version("..2026_02", configWith(route("two", origin.url)));
    const reloaded = gateway.waitForLog((l) => l.msg === "config reloaded");
    // The kubelet's atomic swap: a new symlink renamed over ..data.
    await Deno.symlink("..2026_02", `${dir}/..data_tmp`);
    await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
    assert.equal((await reloaded).trigger, "watch");
    assert.equal(await status(gateway, "/two/echo"), 200);
    assert.equal(await status(gateway, "/one/echo"), 404);

    // The same text again (a resync) is no reload.
    const unchanged = gateway.waitForLog((l) =>
      l.msg === "config unchanged; nothing to reload"
    );
    gateway.kill("SIGHUP");
    await unchanged;
    const reloads = gateway.logs().filter((l) => l.msg === "config reloaded");
    assert.equal(reloads.length, 1);
  } finally {
    await gateway.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

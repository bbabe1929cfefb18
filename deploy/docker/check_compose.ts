/**
 * Offline check of `compose.yaml` (run by .ci/validate_deploy.sh, where no
 * Docker engine is needed): it parses (anchors and merge keys included),
 * runs at least two gateways built from this Dockerfile that share one Redis
 * service through `GATEWAY_STORE`, publishes distinct host ports, mounts a
 * config the gateway accepts whose upstreams are services of the file, and
 * runs Redis without persistence.
 *
 *   deno run --allow-read deploy/docker/check_compose.ts deploy/docker/compose.yaml
 *
 * @module
 */
import { parse } from "yaml";
import { parseConfig } from "../../src/config/load_config.ts";
import { parseRedisUrl } from "../../src/runtime/redis/redis_client.ts";

// deno-lint-ignore no-explicit-any
type Service = Record<string, any>;

const file = Deno.args[0] ?? new URL("compose.yaml", import.meta.url).pathname;
const dir = file.replace(/\/[^/]*$/, "");
const problems: string[] = [];
const compose = parse(await Deno.readTextFile(file), { merge: true });
const services: Record<string, Service> = compose?.services ?? {};

/** A service's environment, with `${NAME:-default}` read as its default. */
function environment(service: Service): Record<string, string> {
  const entries: [string, unknown][] = Array.isArray(service.environment)
    ? service.environment.map((entry: string): [string, unknown] => {
      const [name, value = ""] = entry.split(/=(.*)/s, 2);
      return [name, value];
    })
    : Object.entries(service.environment ?? {});
  return Object.fromEntries(
    entries.map(([name, value]) => [
      name,
      String(value).replace(/\$\{\w+:-([^}]*)\}/g, "$1"),
    ]),
  );
}

const gateways = Object.entries(services).filter(([, service]) =>
  service.build?.dockerfile === "deploy/docker/Dockerfile" &&
  service.command === undefined
);
if (gateways.length < 2) {
  problems.push(
    `services: want at least two gateways built from deploy/docker/Dockerfile, found ${gateways.length}`,
  );
}

const stores = new Set<string>();
const hostPorts = new Map<string, string>();
for (const [name, service] of gateways) {
  const env = environment(service);
  const store = env.GATEWAY_STORE;
  try {
    const { hostname } = parseRedisUrl(String(store));
    if (services[hostname] === undefined) {
      problems.push(
        `${name}: GATEWAY_STORE names host "${hostname}", which is no service`,
      );
    }
    stores.add(store);
  } catch (error) {
    problems.push(`${name}: GATEWAY_STORE ${(error as Error).message}`);
  }
  for (const mapping of service.ports ?? []) {
    const host = String(mapping).split(":").at(-2) ?? "";
    if (hostPorts.has(host)) {
      problems.push(
        `${name}: host port ${host} is taken by ${hostPorts.get(host)}`,
      );
    }
    hostPorts.set(host, name);
  }
  const mount = (service.volumes ?? []).map(String).find((volume: string) =>
    volume.split(":")[1] === env.GATEWAY_CONFIG
  );
  if (mount === undefined) {
    problems.push(
      `${name}: no volume mounts GATEWAY_CONFIG (${env.GATEWAY_CONFIG})`,
    );
    continue;
  }
  const configPath = `${dir}/${mount.split(":")[0].replace(/^\.\//, "")}`;
  const parsed = parseConfig(
    await Deno.readTextFile(configPath),
    (key) => env[key],
  );
  if (!parsed.ok) {
    problems.push(...parsed.errors.map((e) => `${configPath}: ${e}`));
    continue;
  }
  for (const route of parsed.config.routes) {
    for (const upstream of route.upstreams) {
      const host = new URL(upstream.url).hostname;
      if (services[host] === undefined) {
        problems.push(
          `${configPath}: route ${route.name} upstream host "${host}" is no service`,
        );
      }
    }
  }
}
if (stores.size > 1) {
  problems.push(
    `gateways use different GATEWAY_STORE values: ${[...stores].join(", ")}`,
  );
}

for (const store of stores) {
  const redis = services[parseRedisUrl(store).hostname];
  const args: string[] = (redis?.command ?? []).map(String);
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  if (
    !args.includes("--save") || after("--save") !== "" ||
    after("--appendonly") !== "no"
  ) {
    problems.push(
      'redis: command must turn persistence off (--save "" --appendonly no)',
    );
  }
}

const context = `${dir}/${gateways[0]?.[1].build?.context ?? ".."}`;
try {
  await Deno.stat(`${context}/deploy/docker/Dockerfile`);
} catch {
  problems.push(`build.context ${context} holds no deploy/docker/Dockerfile`);
}

if (problems.length > 0) {
  console.error(problems.map((p) => `compose: ${p}`).join("\n"));
  Deno.exit(1);
}
console.log(
  `compose: ${gateways.length} gateways share ${[...stores][0]}; ok`,
);

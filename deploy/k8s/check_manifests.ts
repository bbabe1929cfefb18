/**
 * Offline check of the Kubernetes manifests (run by .ci/validate_deploy.sh):
 * every YAML document parses and names itself, kustomization.yaml lists every
 * manifest, and the invariants graceful termination depends on hold.
 *
 *   deno run --allow-read deploy/k8s/check_manifests.ts deploy/k8s
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { parseConfig } from "../../src/config/load_config.ts";

// deno-lint-ignore no-explicit-any
type Manifest = Record<string, any>;

const dir = Deno.args[0] ?? new URL(".", import.meta.url).pathname;
const problems: string[] = [];
const byKind = new Map<string, Manifest[]>();
const files: string[] = [];

for await (const entry of Deno.readDir(dir)) {
  if (!entry.isFile || !/\.ya?ml$/.test(entry.name)) continue;
  files.push(entry.name);
  for (
    const doc of parseAllDocuments(
      await Deno.readTextFile(`${dir}/${entry.name}`),
    )
  ) {
    if (doc.errors.length > 0) {
      problems.push(
        `${entry.name}: ${doc.errors.map((e) => e.message).join("; ")}`,
      );
      continue;
    }
    const manifest = doc.toJS() as Manifest | null;
    if (manifest === null) continue;
    if (!manifest.apiVersion || !manifest.kind) {
      problems.push(`${entry.name}: apiVersion and kind are required`);
      continue;
    }
    if (manifest.kind !== "Kustomization" && !manifest.metadata?.name) {
      problems.push(`${entry.name}: metadata.name is required`);
    }
    byKind.set(manifest.kind, [...byKind.get(manifest.kind) ?? [], manifest]);
  }
}

const one = (kind: string): Manifest | undefined => {
  const found = byKind.get(kind) ?? [];
  if (found.length !== 1) {
    problems.push(`${kind}: want exactly one, found ${found.length}`);
  }
  return found[0];
};

const kustomization = one("Kustomization");
for (const file of files) {
  if (
    file !== "kustomization.yaml" && !kustomization?.resources?.includes(file)
  ) {
    problems.push(`kustomization.yaml: resources must list ${file}`);
  }
}

/** The one manifest of `kind` named `name` (the gateway's, beside Redis's). */
const named = (kind: string, name: string): Manifest | undefined => {
  const found = (byKind.get(kind) ?? []).filter((m) =>
    m.metadata?.name === name
  );
  if (found.length !== 1) {
    problems.push(`${kind} ${name}: want exactly one, found ${found.length}`);
  }
  return found[0];
};

const deployment = named("Deployment", "edge-gateway");
const pod = deployment?.spec?.template?.spec ?? {};
const podLabels: Record<string, string> =
  deployment?.spec?.template?.metadata?.labels ?? {};
const selects = (selector: Record<string, string> | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => podLabels[key] === value);

if (!selects(deployment?.spec?.selector?.matchLabels)) {
  problems.push("Deployment: spec.selector must match the pod labels");
}
for (const container of pod.containers ?? []) {
  const where = `Deployment container ${container.name}`;
  const env = Object.fromEntries(
    (container.env ?? []).map((e: Manifest) => [e.name, e.value]),
  );
  for (const probe of ["livenessProbe", "readinessProbe"]) {
    const path = container[probe]?.httpGet?.path;
    if (typeof path !== "string" || !path.startsWith("/_gateway/health/")) {
      problems.push(`${where}: ${probe} must GET /_gateway/health/*`);
    }
  }
  const preStop = container.lifecycle?.preStop;
  const preStopSeconds = Number(
    preStop?.exec?.command?.at(-1) ?? preStop?.sleep?.seconds,
  );
  if (!Number.isFinite(preStopSeconds)) {
    problems.push(`${where}: lifecycle.preStop must sleep a number of seconds`);
  }
  // Kubernetes sets HOSTNAME to the pod name; the gateway listens on it.
  if (env.HOSTNAME !== "0.0.0.0") {
    problems.push(`${where}: env HOSTNAME must be "0.0.0.0"`);
  }
  // Config changes reload in place (a ConfigMap update swaps ..data in the
  // mounted directory); a subPath mount never sees an update.
  if (env.GATEWAY_CONFIG_WATCH !== "1") {
    problems.push(`${where}: env GATEWAY_CONFIG_WATCH must be "1"`);
  }
  for (const mount of container.volumeMounts ?? []) {
    if (
      typeof env.GATEWAY_CONFIG === "string" &&
      env.GATEWAY_CONFIG.startsWith(`${mount.mountPath}/`) &&
      mount.subPath !== undefined
    ) {
      problems.push(
        `${where}: the config volume must be mounted as a directory (no subPath), or updates never arrive`,
      );
    }
  }
  // Fleet state is shared through a store whose URL may carry a password.
  const store = (container.env ?? []).find((e: Manifest) =>
    e.name === "GATEWAY_STORE"
  );
  if (store?.valueFrom?.secretKeyRef?.name === undefined) {
    problems.push(
      `${where}: env GATEWAY_STORE must come from a Secret (valueFrom.secretKeyRef), so every pod shares one store`,
    );
  }
  const drainMs = Number(env.GATEWAY_DRAIN_MS ?? 30_000);
  const graceMs = Number(pod.terminationGracePeriodSeconds ?? 30) * 1000;
  if (!(graceMs > drainMs + (preStopSeconds || 0) * 1000)) {
    problems.push(
      `${where}: terminationGracePeriodSeconds (${graceMs} ms) must exceed preStop + GATEWAY_DRAIN_MS (${drainMs} ms)`,
    );
  }
  if (!container.resources?.requests || !container.resources?.limits) {
    problems.push(
      `${where}: resources.requests and resources.limits are required`,
    );
  }
}

const service = named("Service", "edge-gateway");
if (!selects(service?.spec?.selector)) {
  problems.push(
    "Service: spec.selector must match the Deployment's pod labels",
  );
}
const pdb = one("PodDisruptionBudget");
if (!selects(pdb?.spec?.selector?.matchLabels)) {
  problems.push(
    "PodDisruptionBudget: selector must match the Deployment's pod labels",
  );
}
const hpa = one("HorizontalPodAutoscaler");
if (hpa?.spec?.scaleTargetRef?.name !== deployment?.metadata?.name) {
  problems.push(
    "HorizontalPodAutoscaler: scaleTargetRef must name the Deployment",
  );
}

// An in-cluster Redis (redis.yaml; absent when a managed one is brought):
// soft state, so no persistence; reachable through a Service that does not
// also select gateway pods (nor the gateway's Service it).
for (const redis of byKind.get("Deployment") ?? []) {
  const container = redis.spec?.template?.spec?.containers?.find((
    c: Manifest,
  ) => /(^|\/)(redis|valkey)[:@]/.test(String(c.image)));
  if (redis === deployment || container === undefined) continue;
  const where = `Deployment ${redis.metadata?.name}`;
  const args: string[] = (container.args ?? []).map(String);
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  if (
    !args.includes("--save") || after("--save") !== "" ||
    after("--appendonly") !== "no"
  ) {
    problems.push(
      `${where}: args must turn persistence off (--save "" --appendonly no)`,
    );
  }
  const labels: Record<string, string> =
    redis.spec?.template?.metadata?.labels ?? {};
  const matches = (selector: Record<string, string> | undefined) =>
    selector !== undefined && Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value);
  if (!matches(redis.spec?.selector?.matchLabels)) {
    problems.push(`${where}: spec.selector must match its pod labels`);
  }
  if (!(byKind.get("Service") ?? []).some((s) => matches(s.spec?.selector))) {
    problems.push(`${where}: no Service selects its pods`);
  }
  if (matches(service?.spec?.selector)) {
    problems.push(`${where}: the gateway's Service selects the Redis pods`);
  }
}

// The shipped gateway.json must be a config the gateway accepts.
const configText = one("ConfigMap")?.data?.["gateway.json"];
if (typeof configText !== "string") {
  problems.push("ConfigMap: data.gateway.json is required");
} else {
  const parsed = parseConfig(configText, () => "set-at-deploy-time");
  if (!parsed.ok) {
    problems.push(...parsed.errors.map((e) => `ConfigMap gateway.json: ${e}`));
  }
}

if (problems.length > 0) {
  console.error(`k8s manifests: ${problems.length} problem(s)`);
  for (const problem of problems) console.error(`  ${problem}`);
  Deno.exit(1);
}
console.log(
  `k8s manifests ok: ${files.length} files, kinds ${
    [...byKind.keys()].join(", ")
  }`,
);

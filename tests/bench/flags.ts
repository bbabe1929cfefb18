/** Command-line flags of `deno task bench` and the plan they make. */
import { PROXY_KINDS, type ProxyKind } from "./proxies.ts";

/** What this run measures and for how long. */
export interface BenchPlan {
  quick: boolean;
  /** Proxies to measure, in table order. */
  proxies: ProxyKind[];
  /** Also profile the gateway under load with `--cpu-prof`. */
  profile: boolean;
  /** Also measure bytes allocated per request (floor, Hono, duties, gateway). */
  alloc: boolean;
  /** Another checkout of the gateway measured as the "before" row (`--baseline DIR`). */
  baselineRoot: string | null;
  /** `--pools`: only the upstream-pool scenario (it also runs at the end of a full run). */
  poolsOnly: boolean;
  /** Load per proxy before the measured cycles, for the JIT. */
  warmupSeconds: number;
  /** One wrk slice per proxy per cycle. */
  sliceSeconds: number;
  /** Interleaved cycles per scenario; a multiple of `instances`. */
  cycles: number;
  /** Processes per proxy, loaded in turn cycle by cycle. */
  instances: number;
  /** Unmeasured load right before each measured slice. */
  rewarmSeconds: number;
  /** One continuous wrk run (multi-core section, profile). */
  loadSeconds: number;
  connections: number;
  streamChunks: number;
  streamIntervalMs: number;
  bigBodyBytes: number;
  /** Big-body downloads per proxy, interleaved like the load slices. */
  bigBodyRounds: number;
}

/** Printed for `--help` and after a bad flag. */
export const USAGE = `deno task bench [--quick] [--only ${
  PROXY_KINDS.join(",")
}] [--profile] [--alloc] [--pools]
  --quick     smoke run: 3 cycles of 1 s slices, one process per proxy, no re-warming, 64 MiB body
  --pools     only the upstream-pool scenario (slow, failing and healthy origin)
  --only      measure only these proxies (multi-core runs with "gateway")
  --profile   also profile the gateway under load (--cpu-prof); writes bench-results/profile.md
  --alloc     also measure bytes allocated per request (floor, Hono proxy(), duties, gateway)
              and the gateway's allocation sites; writes bench-results/alloc.md
  --baseline  DIR: also measure the gateway of another checkout (e.g. git archive of an older
              commit, with deno install run there) as the "before" row`;

/**
 * Reads the bench's flags; throws with a message naming the bad flag.
 *
 * @example
 * ```ts
 * parseBenchFlags(["--quick", "--only", "gateway,floor"]).proxies; // ["floor", "gateway"]
 * ```
 */
export function parseBenchFlags(args: string[]): BenchPlan {
  let quick = false;
  let profile = false;
  let alloc = false;
  let baselineRoot: string | null = null;
  let only: ProxyKind[] | null = null;
  let poolsOnly = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") quick = true;
    else if (arg === "--profile") profile = true;
    else if (arg === "--alloc") alloc = true;
    else if (arg === "--pools") poolsOnly = true;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const list = arg === "--only" ? args[++i] : arg.slice("--only=".length);
      only = parseProxyList(list ?? "");
    } else if (arg === "--baseline" || arg.startsWith("--baseline=")) {
      baselineRoot = arg === "--baseline"
        ? args[++i] ?? ""
        : arg.slice("--baseline=".length);
      if (baselineRoot === "") {
        throw new Error("Cannot use --baseline as it names no directory");
      }
    } else throw new Error(`Cannot read flag "${arg}"`);
  }
  const proxies = only ??
    PROXY_KINDS.filter((kind) => kind !== "baseline" || baselineRoot !== null);
  return {
    quick,
    proxies,
    profile,
    alloc,
    baselineRoot,
    poolsOnly,
    warmupSeconds: quick ? 2 : 8,
    sliceSeconds: quick ? 1 : 3,
    cycles: quick ? 3 : 8,
    instances: quick ? 1 : 2,
    rewarmSeconds: quick ? 0 : 1,
    loadSeconds: quick ? 3 : 8,
    connections: 50,
    streamChunks: 50,
    streamIntervalMs: 20,
    bigBodyBytes: quick ? 64 * 1024 * 1024 : 1024 * 1024 * 1024,
    bigBodyRounds: quick ? 1 : 3,
  };
}

function parseProxyList(list: string): ProxyKind[] {
  const names = list.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) =>
    !PROXY_KINDS.includes(name as ProxyKind)
  );
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `Cannot use --only as it names ${unknown.join(", ") || "nothing"}: ` +
        `choose from ${PROXY_KINDS.join(", ")}`,
    );
  }
  return PROXY_KINDS.filter((kind) => names.includes(kind));
}

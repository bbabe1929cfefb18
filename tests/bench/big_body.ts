/**
 * A large streamed body through a proxy: throughput and how much the proxy's
 * memory grows while it passes (flat memory is the promise, not a buffer).
 */
import { readMemory, resetPeak } from "./proc_status.ts";
import type { ProcessGroup } from "./processes.ts";

/** What one large download measured. */
export interface BigBodyResult {
  megabytesPerSecond: number;
  /** Proxy peak RSS minus its RSS before the download, MiB; `null` when not measured. */
  rssGrowthMiB: number | null;
  /** False when the peak could not be reset, so it may include earlier load. */
  peakWasReset: boolean;
}

/**
 * Downloads `baseUrl/big?bytes=N` with curl (pinned to `cpus`) and watches the
 * memory of `proxyPid` (`null` for the direct, proxy-less baseline).
 */
export async function measureBigBody(
  group: ProcessGroup,
  baseUrl: string,
  bytes: number,
  proxyPid: number | null,
  cpus: string | null,
): Promise<BigBodyResult> {
  const peakWasReset = proxyPid !== null && await resetPeak(proxyPid);
  const before = proxyPid !== null ? await readMemory(proxyPid) : null;
  const curlArgs = [
    "-sS",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download} %{time_total}",
    `${baseUrl}/big?bytes=${bytes}`,
  ];
  const { success, stdout, stderr } = await group.collect(
    "curl",
    "curl",
    curlArgs,
    {
      cpus,
    },
  );
  if (!success) throw new Error(`curl failed: ${stderr}`);
  const [status, size, seconds] = stdout.split(" ");
  if (status !== "200" || Number(size) !== bytes) {
    throw new Error(
      `big body answered ${status} with ${size} of ${bytes} bytes`,
    );
  }
  const after = proxyPid !== null ? await readMemory(proxyPid) : null;
  return {
    megabytesPerSecond: bytes / Number(seconds) / 1e6,
    rssGrowthMiB: before && after ? (after.peak - before.rss) / 1024 : null,
    peakWasReset,
  };
}

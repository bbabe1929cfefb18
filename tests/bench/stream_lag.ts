/**
 * Per-chunk stream lag: how late each timestamped chunk of the origin's
 * `/stream` arrives at a streaming client. Run once direct and once through a
 * proxy; the difference of the medians is what the proxy adds.
 */

/** `performance.timeOrigin + performance.now()`: the clock the origin stamps chunks with. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("Cannot take the median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Fetches `baseUrl/stream?chunks=N&interval=MS` and returns, for every chunk,
 * arrival time minus the origin's send stamp, in ms. Fails unless all chunks
 * arrive.
 */
export async function measureChunkLags(
  baseUrl: string,
  chunks: number,
  intervalMs: number,
): Promise<number[]> {
  const response = await fetch(
    `${baseUrl}/stream?chunks=${chunks}&interval=${intervalMs}`,
  );
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`stream answered ${response.status}`);
  }
  const lags: number[] = [];
  let pending = "";
  for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
    const arrivedAt = wallClockMs();
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) lags.push(arrivedAt - Number(line));
  }
  if (lags.length !== chunks || lags.some(Number.isNaN)) {
    throw new Error(`stream delivered ${lags.length} of ${chunks} chunks`);
  }
  return lags;
}

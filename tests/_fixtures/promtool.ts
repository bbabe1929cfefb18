/**
 * Prometheus's `promtool` (Debian package `prometheus`) for the checks of
 * the metrics text, the alert rules and the dashboard. Tests that need it
 * are ignored with the reason when it is not installed; CI (.ci/run)
 * installs it and sets `GATEWAY_REQUIRE_PROMTOOL=1`, which turns a missing
 * promtool into a failure.
 *
 * @module
 */

function findPromtool(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/promtool`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The promtool on PATH, or `null`. */
export const PROMTOOL = findPromtool();

if (PROMTOOL === null && Deno.env.get("GATEWAY_REQUIRE_PROMTOOL") === "1") {
  throw new Error(
    "GATEWAY_REQUIRE_PROMTOOL=1 but promtool is not on PATH (apt-get install prometheus)",
  );
}

/** Test names say why they did not run. */
export const PROMTOOL_REASON = PROMTOOL === null
  ? " (ignored: promtool not on PATH; apt-get install prometheus)"
  : "";

/** Runs `promtool args…` with `stdin` piped in; returns the exit code and output. */
export async function promtool(
  args: string[],
  stdin = "",
): Promise<{ code: number; output: string }> {
  if (PROMTOOL === null) throw new Error("promtool is not installed");
  const child = new Deno.Command(PROMTOOL, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    output: decoder.decode(stdout) + decoder.decode(stderr),
  };
}

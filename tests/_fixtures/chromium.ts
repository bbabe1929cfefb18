import { type Browser, chromium } from "playwright-core";
import sparticuz, { inflate } from "@sparticuz/chromium";

/** Where Debian's `chromium` package puts the browser. */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * Which headless browser the tests drive: `debian` (the system package) or
 * `npm` (`@sparticuz/chromium`, a Chromium shipped inside the npm package,
 * so `deno task test` needs nothing but Deno).
 */
export type BrowserSource = "debian" | "npm";

/**
 * Environment variable forcing one source (`debian` or `npm`); unset means
 * Debian's when it is installed, the npm one otherwise.
 */
export const BROWSER_SOURCE_ENV = "GATEWAY_TEST_BROWSER";

/** Flags that keep a headless Chromium from reaching hosts it cannot reach. */
const OFFLINE_ARGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * The browser source to use: the forced one if the environment names one,
 * else Debian's when its executable exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseBrowserSource } from "./chromium.ts";
 * assert.equal(chooseBrowserSource("npm", true), "npm");
 * assert.equal(chooseBrowserSource(undefined, false), "npm");
 * assert.equal(chooseBrowserSource("", true), "debian");
 * ```
 */
export function chooseBrowserSource(
  forced = Deno.env.get(BROWSER_SOURCE_ENV),
  debianPresent = debianChromiumPresent(),
): BrowserSource {
  if (forced === "debian" || forced === "npm") return forced;
  if (forced !== undefined && forced !== "") {
    throw new Error(`${BROWSER_SOURCE_ENV}: must be "debian" or "npm"`);
  }
  return debianPresent ? "debian" : "npm";
}

/** Launches headless Chromium from the chosen source, as root, sandboxless. */
export async function launchChromium(
  source: BrowserSource = chooseBrowserSource(),
): Promise<Browser> {
  if (source === "debian") {
    return await chromium.launch({
      executablePath: DEBIAN_CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", ...OFFLINE_ARGS],
    });
  }
  // Unpacks the browser and the libraries it links (NSS, expat) shipped in
  // the package, once, into the temp dir: nothing comes from Debian.
  const [executablePath, libraries] = await Promise.all([
    sparticuz.executablePath(),
    inflate(new URL("../bin/al2023.tar.br", SPARTICUZ_MAIN).pathname),
  ]);
  return await chromium.launch({
    executablePath,
    args: [...sparticuz.args, ...OFFLINE_ARGS],
    headless: true,
    env: { ...Deno.env.toObject(), LD_LIBRARY_PATH: `${libraries}/lib` },
  });
}

const SPARTICUZ_MAIN = import.meta.resolve("@sparticuz/chromium");

/** Whether Debian's Chromium is installed. */
export function debianChromiumPresent(): boolean {
  try {
    return Deno.statSync(DEBIAN_CHROMIUM).isFile;
  } catch {
    return false;
  }
}

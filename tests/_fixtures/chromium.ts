import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium, headless, as root in a sandbox: without the
 * background-networking flags it keeps trying to reach hosts this machine
 * cannot reach.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

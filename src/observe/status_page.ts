import {
  formatRemaining,
  renderStatusSections,
  summarizeSnapshot,
} from "./status_view.ts";

export type {
  BreakerView,
  RouteStatus,
  StatusSnapshot,
  StoreHealth,
} from "./status_snapshot.ts";

/** Options for {@linkcode renderStatusPage}. */
export interface StatusPageOptions {
  /** Where the page polls the snapshot; default `/_gateway/status.json`. */
  snapshotUrl?: string;
  /** Milliseconds between polls; default 2000. */
  pollMs?: number;
}

/**
 * Headers to serve the page with: never cached (it is admin-only), never
 * framed, and allowed nothing beyond its own inline code and same-origin
 * polling.
 */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #4a5560; --line: #d0d7de;
  --ok-fg: #0b5d28; --ok-bg: #dcf5e3; --bad-fg: #9b1111; --bad-bg: #fde4e4; --warn-fg: #6b4200; --warn-bg: #fff1c7; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b1; --line: #30363d;
  --ok-fg: #7ee2a0; --ok-bg: #0f2e1b; --bad-fg: #ffb3b3; --bad-bg: #3d1214; --warn-fg: #ffd978; --warn-bg: #3a2a05; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 80rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; } h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
ul.plain { list-style: none; margin: 0; padding: 0; }
.state { display: inline-block; padding: 0 0.5rem; border-radius: 0.25rem; font-weight: 600; }
.state-closed { color: var(--ok-fg); background: var(--ok-bg); }
.state-open { color: var(--bad-fg); background: var(--bad-bg); }
.state-half_open { color: var(--warn-fg); background: var(--warn-bg); }
.bad { color: var(--bad-fg); font-weight: 600; }
.meta { color: var(--muted); margin: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { color: var(--muted); } dd { margin: 0; }
`;

/**
 * The browser side: poll the snapshot, render it, tick countdowns. The
 * view functions arrive as their source text (see `status_view.ts`).
 */
function pageScript(snapshotUrl: string, pollMs: number): string {
  return `"use strict";
// Bundlers that keep function names (esbuild keepNames, as wrangler runs it)
// write __name(fn, "name") calls into function sources; make them harmless.
const __name = (fn) => fn;
const formatRemaining = ${String(formatRemaining)};
const summarizeSnapshot = ${String(summarizeSnapshot)};
const renderStatusSections = ${String(renderStatusSections)};
const SNAPSHOT_URL = ${JSON.stringify(snapshotUrl)};
const POLL_MS = ${pollMs};
const content = document.getElementById("content");
const summary = document.getElementById("summary");
const updated = document.getElementById("updated");

function tickCountdowns() {
  for (const el of document.querySelectorAll("[data-half-open-at]")) {
    el.textContent = formatRemaining(Number(el.dataset.halfOpenAt) - Date.now());
  }
}

async function poll() {
  try {
    const response = await fetch(SNAPSHOT_URL, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) {
      throw new Error(response.status === 401 || response.status === 403
        ? "not authorized: sign in with the admin token"
        : "status " + response.status);
    }
    const snapshot = await response.json();
    const receivedAt = Date.now();
    content.innerHTML = renderStatusSections(snapshot, receivedAt);
    content.setAttribute("aria-busy", "false");
    summary.textContent = summarizeSnapshot(snapshot);
    updated.dateTime = new Date(snapshot.generatedAt).toISOString();
    updated.textContent = new Date(receivedAt).toLocaleTimeString();
  } catch (error) {
    summary.textContent = "Update failed (" + error.message + "); showing the last data, retrying.";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

setInterval(tickCountdowns, 1000);
poll();
`;
}

/**
 * The live status page: a complete HTML document with no external assets
 * that polls the snapshot (`GET /_gateway/status.json` by default) every
 * 2 s and shows routes, breakers (colour-coded, with the time until
 * half-open counting down), request and error rates, and store health.
 *
 * Serve it to admins only. The page handles no token itself: its polling
 * is a same-origin `fetch` that carries the `gateway_admin` cookie.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderStatusPage, STATUS_PAGE_HEADERS } from "./status_page.ts";
 * const page = new Response(renderStatusPage(), { headers: STATUS_PAGE_HEADERS });
 * assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
 * ```
 */
export function renderStatusPage(options: StatusPageOptions = {}): string {
  const snapshotUrl = options.snapshotUrl ?? "/_gateway/status.json";
  const pollMs = options.pollMs ?? 2000;
  if (!(Number.isFinite(pollMs) && pollMs >= 100)) {
    throw new RangeError(
      `Cannot render status page as pollMs must be at least 100: current value is ${pollMs}`,
    );
  }
  // "</" inside the inline script would end it early; "<\\/" means the same in JS.
  const script = pageScript(snapshotUrl, pollMs).replaceAll("</", "<\\/");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gateway status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Gateway status</h1>
<p id="summary" class="meta" role="status" aria-live="polite">Loading…</p>
<p class="meta">Last update: <time id="updated">never</time> · refreshes every ${
    pollMs / 1000
  } s</p>
</header>
<main id="content" aria-busy="true"></main>
<script>${script}</script>
</body>
</html>
`;
}

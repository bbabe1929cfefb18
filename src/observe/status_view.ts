/**
 * The status page's rendering, as pure functions of a snapshot. They run
 * in the browser: `status_page.ts` embeds their source text in the page,
 * so each must be self-contained: no imports and no module-level names
 * other than these exported functions, which the page defines side by side
 * under the same names (so this module must not be minified). Being plain
 * functions here, they are unit-tested in Deno with fake snapshots.
 */
import type { StatusSnapshot } from "./status_snapshot.ts";

/**
 * Time left until an open breaker turns half-open, for people:
 * `"45 s"`, `"2 min 05 s"`, or `"due"` once it has passed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRemaining } from "./status_view.ts";
 * assert.equal(formatRemaining(125_000), "2 min 05 s");
 * ```
 */
export function formatRemaining(ms: number): string {
  if (!(ms > 0)) return "due";
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const rest = seconds % 60;
  return `${Math.floor(seconds / 60)} min ${rest < 10 ? "0" : ""}${rest} s`;
}

/**
 * One sentence for the page's live region: announced to screen readers
 * only when it changes, so it names states, not times.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeSnapshot } from "./status_view.ts";
 * const summary = summarizeSnapshot({
 *   generatedAt: 0, routes: [], breakers: [],
 *   store: { healthy: true, errors: 0, lastError: null },
 * });
 * assert.equal(summary, "0 routes. 0 of 0 breakers open, 0 half-open. Store healthy.");
 * ```
 */
export function summarizeSnapshot(snapshot: StatusSnapshot): string {
  const count = (state: string) =>
    snapshot.breakers.filter((b) => b.state === state).length;
  const routes = snapshot.routes.length;
  return `${routes} route${routes === 1 ? "" : "s"}. ` +
    `${count("open")} of ${snapshot.breakers.length} breakers open, ${
      count("half_open")
    } half-open. ` +
    `Store ${snapshot.store.healthy ? "healthy" : "failing"}.`;
}

/**
 * The page's main content for a snapshot: routes, breakers and store, as
 * HTML. `receivedAt` is the viewer's clock when the snapshot arrived; it
 * maps the server's `openUntil` onto the viewer's clock, so countdowns
 * (`data-half-open-at`, in viewer time) are right whatever the clock skew.
 * Every value from the snapshot is HTML-escaped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderStatusSections } from "./status_view.ts";
 * const html = renderStatusSections({
 *   generatedAt: 0,
 *   routes: [{ name: "users", path: "/api/users/*", methods: null, upstreams: ["http://a"], requestsPerSecond: 1, errorRate: 0, openWebSockets: 0 }],
 *   breakers: [],
 *   store: { healthy: true, errors: 0, lastError: null },
 * }, 0);
 * assert.equal(html.includes('data-route="users"'), true);
 * ```
 */
export function renderStatusSections(
  snapshot: StatusSnapshot,
  receivedAt: number,
): string {
  const escapeHtml = (value: unknown) =>
    String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
  const stateNames: Record<string, string> = {
    closed: "Closed",
    open: "Open",
    half_open: "Half-open",
  };

  const routeRows = snapshot.routes.map((route) =>
    `<tr data-route="${escapeHtml(route.name)}">` +
    `<th scope="row">${escapeHtml(route.name)}</th>` +
    `<td><code>${escapeHtml(route.path)}</code></td>` +
    `<td>${
      route.methods === null ? "all" : escapeHtml(route.methods.join(", "))
    }</td>` +
    `<td><ul class="plain">${
      route.upstreams.map((u) => `<li><code>${escapeHtml(u)}</code></li>`).join(
        "",
      )
    }</ul></td>` +
    `<td class="num" data-rate>${route.requestsPerSecond.toFixed(2)}</td>` +
    `<td class="num${route.errorRate > 0 ? " bad" : ""}" data-error-rate>${
      percent(route.errorRate)
    }</td><td class="num" data-websockets>${route.openWebSockets}</td></tr>`
  ).join("");

  const breakerRows = snapshot.breakers.map((breaker) => {
    let halfOpen = "—";
    if (breaker.state === "open" && breaker.forced) {
      halfOpen = "held open by an admin";
    } else if (breaker.state === "open" && breaker.openUntil !== null) {
      const viewerTime = breaker.openUntil - snapshot.generatedAt + receivedAt;
      halfOpen = `<span data-half-open-at="${viewerTime}">${
        formatRemaining(breaker.openUntil - snapshot.generatedAt)
      }</span>`;
    } else if (breaker.state === "half_open") halfOpen = "probing now";
    const stateName = stateNames[breaker.state] ?? breaker.state;
    return `<tr data-breaker="${
      escapeHtml(`${breaker.route}|${breaker.upstream}`)
    }" ` +
      `data-state="${escapeHtml(breaker.state)}">` +
      `<th scope="row">${escapeHtml(breaker.route)}</th>` +
      `<td><code>${escapeHtml(breaker.upstream)}</code></td>` +
      `<td><span class="state state-${escapeHtml(breaker.state)}">${
        escapeHtml(stateName)
      }${breaker.forced ? " (forced)" : ""}</span></td>` +
      `<td>${halfOpen}</td>` +
      `<td class="num">${breaker.calls}</td>` +
      `<td class="num">${percent(breaker.failureRate)}</td>` +
      `<td class="num">${percent(breaker.slowCallRate)}</td></tr>`;
  }).join("");

  const upstreamRows = (snapshot.upstreams ?? []).map((u) =>
    `<tr data-upstream="${escapeHtml(`${u.route}|${u.upstream}`)}" ` +
    `data-healthy="${u.healthy}">` +
    `<th scope="row">${escapeHtml(u.route)}</th>` +
    `<td><code>${escapeHtml(u.upstream)}</code>${
      u.backup ? " (backup)" : ""
    }</td>` +
    `<td class="num">${u.weight}</td>` +
    `<td><span class="state state-${u.healthy ? "closed" : "open"}">${
      u.healthy ? "Healthy" : "Unhealthy"
    }</span></td>` +
    `<td class="num">${u.requests}</td><td class="num">${u.inflight}</td>` +
    `<td class="num">${u.cost.toFixed(1)}</td></tr>`
  ).join("");
  const upstreamSection = upstreamRows === ""
    ? ""
    : `<section aria-labelledby="upstreams-heading"><h2 id="upstreams-heading">Upstream pools</h2>` +
      `<table aria-labelledby="upstreams-heading"><thead><tr>` +
      `<th scope="col">Route</th><th scope="col">Upstream</th><th scope="col" class="num">Weight</th>` +
      `<th scope="col">Health check</th><th scope="col" class="num">Requests</th>` +
      `<th scope="col" class="num">In flight</th><th scope="col" class="num">Cost (p2c)</th>` +
      `</tr></thead><tbody>${upstreamRows}</tbody></table></section>`;

  const store = snapshot.store;
  return `<section aria-labelledby="routes-heading"><h2 id="routes-heading">Routes</h2>` +
    `<table aria-labelledby="routes-heading"><thead><tr>` +
    `<th scope="col">Route</th><th scope="col">Path</th><th scope="col">Methods</th>` +
    `<th scope="col">Upstreams</th><th scope="col" class="num">Requests/s</th>` +
    `<th scope="col" class="num">Errors (5xx)</th><th scope="col" class="num">Open WebSockets</th></tr></thead><tbody>${
      routeRows || `<tr><td colspan="7">No routes configured.</td></tr>`
    }</tbody></table></section>` +
    `<section aria-labelledby="breakers-heading"><h2 id="breakers-heading">Circuit breakers</h2>` +
    `<table aria-labelledby="breakers-heading"><thead><tr>` +
    `<th scope="col">Route</th><th scope="col">Upstream</th><th scope="col">State</th>` +
    `<th scope="col">Half-open in</th><th scope="col" class="num">Calls</th>` +
    `<th scope="col" class="num">Failures</th><th scope="col" class="num">Slow calls</th></tr></thead><tbody>${
      breakerRows ||
      `<tr><td colspan="7">No breakers yet: they appear with the first request.</td></tr>`
    }</tbody></table></section>` + upstreamSection +
    `<section aria-labelledby="store-heading"><h2 id="store-heading">Breaker store</h2>` +
    `<dl data-store="${store.healthy ? "healthy" : "failing"}">` +
    `<dt>Health</dt><dd><span class="state state-${
      store.healthy ? "closed" : "open"
    }">${
      store.healthy ? "Healthy" : "Failing: running on local state"
    }</span></dd>` +
    `<dt>Errors since start</dt><dd>${store.errors}</dd>` +
    `<dt>Last error</dt><dd>${
      store.lastError === null ? "none" : escapeHtml(store.lastError)
    }</dd></dl></section>`;
}

import assert from "node:assert/strict";
import {
  renderStatusPage,
  type StatusSnapshot,
} from "../../../src/observe/status_page.ts";
import { buildStatusSnapshot } from "../../../src/observe/status_snapshot.ts";
import {
  formatRemaining,
  renderStatusSections,
  summarizeSnapshot,
} from "../../../src/observe/status_view.ts";
import type { Policy, Route } from "../../../src/config/types.ts";

const T0 = 1_700_000_000_000;

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    generatedAt: T0,
    routes: [
      {
        name: "users",
        path: "/api/users/*",
        methods: ["GET", "POST"],
        upstreams: ["http://10.0.0.5:8080/v1", "http://10.0.0.6:8080/v1"],
        requestsPerSecond: 12.345,
        errorRate: 0.125,
        openWebSockets: 0,
      },
      {
        name: "health",
        path: "/health",
        methods: null,
        upstreams: ["http://10.0.0.7"],
        requestsPerSecond: 0,
        errorRate: 0,
        openWebSockets: 0,
      },
    ],
    breakers: [
      {
        route: "users",
        upstream: "http://10.0.0.5:8080/v1",
        state: "open",
        epoch: 3,
        openUntil: T0 + 45_000,
        calls: 20,
        failureRate: 0.6,
        slowCallRate: 0,
        forced: false,
      },
      {
        route: "users",
        upstream: "http://10.0.0.6:8080/v1",
        state: "closed",
        epoch: 0,
        openUntil: null,
        calls: 8,
        failureRate: 0,
        slowCallRate: 0.25,
        forced: false,
      },
    ],
    store: { healthy: true, errors: 0, lastError: null },
    ...overrides,
  };
}

/** The opening tag of the element carrying `attribute`, to assert on its attributes. */
function tagWith(html: string, attribute: string): string {
  const match = new RegExp(`<[a-z]+ [^>]*${attribute}[^>]*>`).exec(html);
  assert.ok(match, `no element with ${attribute}`);
  return match[0];
}

Deno.test("formatRemaining counts down in seconds, then minutes, then says due", () => {
  assert.equal(formatRemaining(45_000), "45 s");
  assert.equal(formatRemaining(44_001), "45 s");
  assert.equal(formatRemaining(60_000), "1 min 00 s");
  assert.equal(formatRemaining(125_000), "2 min 05 s");
  assert.equal(formatRemaining(0), "due");
  assert.equal(formatRemaining(-5), "due");
});

Deno.test("sections list routes with path, methods, upstreams and rates", () => {
  const html = renderStatusSections(snapshot(), T0);
  const users = /<tr data-route="users">(.*?)<\/tr>/.exec(html)?.[1] ?? "";
  assert.match(users, /<th scope="row">users<\/th>/);
  assert.match(users, /\/api\/users\/\*/);
  assert.match(users, /GET, POST/);
  assert.match(
    users,
    /http:\/\/10\.0\.0\.5:8080\/v1.*http:\/\/10\.0\.0\.6:8080\/v1/,
  );
  assert.match(users, /12\.35/);
  assert.match(users, /12\.5 %/);
  const health = /<tr data-route="health">(.*?)<\/tr>/.exec(html)?.[1] ?? "";
  assert.match(health, /<td>all<\/td>/);
});

Deno.test("breakers carry state attributes and a countdown in the viewer's clock", () => {
  const viewerClockAhead = 7_000;
  const html = renderStatusSections(snapshot(), T0 + viewerClockAhead);
  assert.match(
    tagWith(html, 'data-breaker="users\\|http://10.0.0.5:8080/v1"'),
    /data-state="open"/,
  );
  assert.match(
    tagWith(html, 'data-breaker="users\\|http://10.0.0.6:8080/v1"'),
    /data-state="closed"/,
  );
  assert.match(html, /class="state state-open">Open</);
  assert.match(
    html,
    new RegExp(
      `<span data-half-open-at="${T0 + viewerClockAhead + 45_000}">45 s</span>`,
    ),
  );
});

Deno.test("forced and half-open breakers say so instead of counting down", () => {
  const base = snapshot().breakers[0];
  const html = renderStatusSections(
    snapshot({
      breakers: [
        { ...base, forced: true },
        { ...base, upstream: "http://b", state: "half_open", openUntil: null },
      ],
    }),
    T0,
  );
  assert.match(html, /Open \(forced\)/);
  assert.match(html, /held open by an admin/);
  assert.match(html, /probing now/);
  assert.doesNotMatch(html, /data-half-open-at/);
});

Deno.test("store health is shown, failing included", () => {
  assert.match(renderStatusSections(snapshot(), T0), /data-store="healthy"/);
  const html = renderStatusSections(
    snapshot({
      store: { healthy: false, errors: 4, lastError: "kv: connection refused" },
    }),
    T0,
  );
  assert.match(html, /data-store="failing"/);
  assert.match(html, /<dd>4<\/dd>/);
  assert.match(html, /kv: connection refused/);
});

Deno.test("every snapshot value is HTML-escaped", () => {
  const evil = `<img src=x onerror="alert(1)">&'`;
  const html = renderStatusSections(
    snapshot({
      routes: [{
        ...snapshot().routes[0],
        name: evil,
        path: evil,
        upstreams: [evil],
      }],
      breakers: [{ ...snapshot().breakers[0], route: evil, upstream: evil }],
      store: { healthy: false, errors: 1, lastError: evil },
    }),
    T0,
  );
  assert.doesNotMatch(html, /<img/);
  assert.doesNotMatch(html, /onerror="/);
  assert.match(
    html,
    /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;&#38;&#39;/,
  );
});

Deno.test("empty snapshots render placeholders, not empty tables", () => {
  const html = renderStatusSections(snapshot({ routes: [], breakers: [] }), T0);
  assert.match(html, /No routes configured/);
  assert.match(html, /No breakers yet/);
});

Deno.test("summary names counts of states, not times", () => {
  assert.equal(
    summarizeSnapshot(snapshot()),
    "2 routes. 1 of 2 breakers open, 0 half-open. Store healthy.",
  );
  assert.equal(
    summarizeSnapshot(
      snapshot({ store: { healthy: false, errors: 1, lastError: "x" } }),
    ),
    "2 routes. 1 of 2 breakers open, 0 half-open. Store failing.",
  );
});

Deno.test("the page is one self-contained, accessible document that polls the snapshot", () => {
  const page = renderStatusPage();
  assert.match(page, /^<!doctype html>\n<html lang="en">/);
  assert.doesNotMatch(
    page,
    /<(link|img|iframe)\b|\bsrc=|@import|url\(/,
    "no external assets",
  );
  assert.match(page, /aria-live="polite"/);
  assert.match(page, /"\/_gateway\/status\.json"/);
  assert.match(page, /credentials: "same-origin"/);
  assert.match(page, /const POLL_MS = 2000;/);
  const script = /<script>([\s\S]*)<\/script>/.exec(page)?.[1] ?? "";
  assert.doesNotMatch(
    script,
    /<\/(?!script)/,
    "no early end of the inline script",
  );
  // The embedded source must be valid JavaScript on its own.
  new Function(script);
});

Deno.test("page options: snapshot URL and poll interval, validated", () => {
  const page = renderStatusPage({
    snapshotUrl: "/admin/status.json",
    pollMs: 500,
  });
  assert.match(page, /"\/admin\/status\.json"/);
  assert.match(page, /const POLL_MS = 500;/);
  assert.throws(
    () => renderStatusPage({ pollMs: 0 }),
    /pollMs must be at least 100/,
  );
});

Deno.test("buildStatusSnapshot joins config routes with rates, missing rates as 0", () => {
  const route = (name: string): Route => ({
    name,
    path: `/${name}/*`,
    methods: null,
    upstreams: [{
      url: `http://${name}:8080/v1`,
      origin: `http://${name}:8080`,
      basePath: "/v1",
      weight: 1,
      backup: false,
    }],
    stripPrefix: "",
    auth: null,
    policy: {} as Policy,
  });
  const result = buildStatusSnapshot({
    routes: [route("a"), route("b")],
    rates: { a: { requestsPerSecond: 3, errorRate: 0.5 } },
    openWebSockets: (route) => route === "a" ? 2 : 0,
    breakers: [],
    store: { healthy: true, errors: 0, lastError: null },
    now: T0,
  });
  assert.equal(result.generatedAt, T0);
  assert.deepEqual(result.routes, [
    {
      name: "a",
      path: "/a/*",
      methods: null,
      upstreams: ["http://a:8080/v1"],
      requestsPerSecond: 3,
      errorRate: 0.5,
      openWebSockets: 2,
    },
    {
      name: "b",
      path: "/b/*",
      methods: null,
      upstreams: ["http://b:8080/v1"],
      requestsPerSecond: 0,
      errorRate: 0,
      openWebSockets: 0,
    },
  ]);
});

/**
 * The status page in a real browser (Debian's headless Chromium driven by
 * playwright-core): it lists the routes and follows a breaker opening.
 * The gateway is stood in for by a loopback server serving the page and a
 * snapshot the test changes.
 */
import assert from "node:assert/strict";
import { launchChromium } from "../_fixtures/chromium.ts";
import {
  renderStatusPage,
  type StatusSnapshot,
} from "../../src/observe/status_page.ts";

const UPSTREAM = "http://10.0.0.5:8080/v1";

function initialSnapshot(): StatusSnapshot {
  return {
    generatedAt: Date.now(),
    routes: [
      {
        name: "users",
        path: "/api/users/*",
        methods: ["GET", "POST"],
        upstreams: [UPSTREAM, "http://10.0.0.6:8080/v1"],
        requestsPerSecond: 4.5,
        errorRate: 0,
        openWebSockets: 0,
      },
      {
        name: "orders",
        path: "/api/orders/*",
        methods: null,
        upstreams: ["http://10.0.0.9"],
        requestsPerSecond: 0,
        errorRate: 0,
        openWebSockets: 0,
      },
    ],
    breakers: [{
      route: "users",
      upstream: UPSTREAM,
      state: "closed",
      epoch: 0,
      openUntil: null,
      calls: 12,
      failureRate: 0,
      slowCallRate: 0,
      forced: false,
    }],
    store: { healthy: true, errors: 0, lastError: null },
  };
}

Deno.test({
  name: "status page lists routes and shows a breaker opening, live",
  async fn() {
    let snapshot = initialSnapshot();
    let snapshotRequests = 0;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => {
        const { pathname } = new URL(request.url);
        if (pathname === "/_gateway/status") {
          return new Response(renderStatusPage({ pollMs: 250 }), {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        }
        if (pathname === "/_gateway/status.json") {
          snapshotRequests++;
          return Response.json({ ...snapshot, generatedAt: Date.now() });
        }
        return new Response("not found", { status: 404 });
      },
    );
    const screenshotDir = await Deno.makeTempDir({ prefix: "status_page_" });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${server.addr.port}/_gateway/status`);

      await page.waitForSelector('[data-route="users"]', { timeout: 10_000 });
      const routes = await page.$$eval(
        "[data-route]",
        (rows) => rows.map((row) => row.getAttribute("data-route")),
      );
      assert.deepEqual(routes, ["users", "orders"]);
      const usersRow = await page.textContent('[data-route="users"]');
      assert.match(usersRow ?? "", /\/api\/users\/\*/);
      assert.match(usersRow ?? "", /10\.0\.0\.6:8080/);
      const breaker = `[data-breaker="users|${UPSTREAM}"]`;
      assert.equal(await page.getAttribute(breaker, "data-state"), "closed");

      snapshot = {
        ...snapshot,
        breakers: [{
          ...snapshot.breakers[0],
          state: "open",
          epoch: 1,
          openUntil: Date.now() + 30_000,
          failureRate: 0.75,
        }],
      };
      await page.waitForSelector(`${breaker}[data-state="open"]`, {
        timeout: 10_000,
      });
      const countdown = await page.textContent(
        `${breaker} [data-half-open-at]`,
      );
      assert.match(countdown ?? "", /^\d+ s$/);
      assert.match(
        await page.textContent("#summary") ?? "",
        /1 of 1 breakers open/,
      );
      assert.ok(snapshotRequests >= 2, "the page polled again");
      assert.deepEqual(pageErrors, []);

      const screenshotPath = `${screenshotDir}/status.png`;
      await page.screenshot({ path: screenshotPath, fullPage: true });
      const png = await Deno.readFile(screenshotPath);
      assert.ok(png.length > 1000, `screenshot too small: ${png.length} bytes`);
      assert.deepEqual([...png.subarray(0, 8)], [
        137,
        80,
        78,
        71,
        13,
        10,
        26,
        10,
      ], "PNG signature");
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(screenshotDir, { recursive: true });
    }
  },
});

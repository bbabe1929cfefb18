/**
 * The shipped nginx front config (deploy/nginx/edge-gateway.conf) passes
 * WebSocket upgrades through to the gateway: real nginx under a temporary
 * prefix, its upstream and listen port rewritten to the test's, a real
 * WebSocket client through nginx → gateway → echo origin. Ignored where
 * nginx is not installed (`nginx -t` in .ci/validate_deploy.sh still runs
 * in CI).
 */
import assert from "node:assert/strict";
import { routeConfig, startTestGateway } from "../_fixtures/gateway.ts";
import { freePort } from "../_fixtures/free_port.ts";
import { openRaw } from "../_fixtures/raw_client.ts";
import { openSocket } from "../_fixtures/ws_client.ts";
import { WsOrigin } from "../_fixtures/ws_origin.ts";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      (await openRaw(port, 1_000)).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nginx did not listen on ${port}`);
}

Deno.test({
  name: "nginx front config: a WebSocket goes through nginx and the gateway",
  ignore: NGINX === undefined,
  async fn() {
    const origin = WsOrigin.start();
    const gateway = await startTestGateway(routeConfig([origin.url]));
    const prefix = await Deno.makeTempDir({ prefix: "gateway-nginx-" });
    const port = freePort();
    const shipped = await Deno.readTextFile(
      new URL("../../deploy/nginx/edge-gateway.conf", import.meta.url),
    );
    const site = shipped
      .replace("127.0.0.1:8000", `127.0.0.1:${gateway.port}`)
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
    await Deno.writeTextFile(`${prefix}/site.conf`, site);
    await Deno.writeTextFile(
      `${prefix}/nginx.conf`,
      `daemon off;\nmaster_process off;\npid ${prefix}/nginx.pid;\n` +
        `error_log ${prefix}/error.log warn;\nevents {}\nhttp {\n` +
        `  access_log off;\n  client_body_temp_path ${prefix}/client_body;\n` +
        `  proxy_temp_path ${prefix}/proxy;\n  fastcgi_temp_path ${prefix}/fastcgi;\n` +
        `  uwsgi_temp_path ${prefix}/uwsgi;\n  scgi_temp_path ${prefix}/scgi;\n` +
        `  include ${prefix}/site.conf;\n}\n`,
    );
    const nginx = new Deno.Command(NGINX!, {
      args: ["-p", prefix, "-c", `${prefix}/nginx.conf`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(port);
      const client = await openSocket(`http://127.0.0.1:${port}/api/echo`, {
        protocols: ["chat.v1"],
      });
      assert.equal(client.socket.protocol, "chat.v1");
      client.socket.send("through nginx");
      assert.equal(await client.next(), "through nginx");
      client.socket.close(4003, "done");
      assert.equal((await client.closed).code, 4003);
      assert.equal((await origin.nextClose()).code, 4003);
      // A plain request still reuses nginx's keepalive connections (empty Connection).
      const plain = await fetch(`http://127.0.0.1:${port}/api/echo`);
      assert.equal(plain.status, 426);
      await plain.body?.cancel();
    } finally {
      nginx.kill("SIGTERM");
      await nginx.status;
      await gateway.close();
      await origin.close();
      await Deno.remove(prefix, { recursive: true });
    }
  },
});

/**
 * `deno task dev:workers [wrangler dev args]`: the shipped gateway.json under
 * local workerd, like `deno task dev` on Deno: the demo origin on
 * 127.0.0.1:$DEMO_PORT (8001) unless something already listens there (say,
 * `deno task dev`), dev-only secrets from deploy/workers/dev.vars, and
 * `wrangler dev` with any extra arguments passed through (`--port`, `--ip`,
 * `--var NAME:VALUE`).
 *
 * @module
 */
import { demoOrigin } from "../deno/demo_origin.ts";

const demoPort = Number(Deno.env.get("DEMO_PORT") ?? 8001);
const demo = serveDemoOrigin(demoPort);

const wrangler = new Deno.Command("sh", {
  args: [
    "deploy/workers/wrangler.sh",
    "dev",
    "--env-file",
    "deploy/workers/dev.vars",
    ...Deno.args,
  ],
  cwd: new URL("../../", import.meta.url).pathname,
}).spawn();

// Ctrl-C reaches wrangler through the terminal; a SIGTERM sent to this
// process alone is passed on so workerd never outlives the task.
const forwardTerm = () => wrangler.kill("SIGTERM");
Deno.addSignalListener("SIGTERM", forwardTerm);
Deno.addSignalListener("SIGINT", () => {});

const { code } = await wrangler.status;
await demo?.shutdown();
Deno.exit(code);

/** Starts the demo origin, or returns null when the port is taken. */
function serveDemoOrigin(port: number): Deno.HttpServer | null {
  try {
    return Deno.serve({
      hostname: "127.0.0.1",
      port,
      onListen: ({ port }) =>
        console.log(JSON.stringify({ msg: "demo origin listening", port })),
    }, demoOrigin);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    console.log(JSON.stringify({ msg: "demo origin already running", port }));
    return null;
  }
}

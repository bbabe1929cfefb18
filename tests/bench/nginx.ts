/**
 * nginx as a reference proxy: one worker, `proxy_buffering off`, keep-alive to
 * the origin, everything under a temporary prefix so the system's nginx is
 * left alone.
 */
import {
  freePort,
  type ManagedProcess,
  type ProcessGroup,
  waitForPort,
} from "./processes.ts";

/**
 * The nginx.conf for one worker proxying 127.0.0.1:`port` to the origin.
 * `master_process off` makes the one worker the process we start, so its pid
 * is the one whose memory is read and that is pinned.
 */
export function nginxConfig(
  prefix: string,
  port: number,
  originPort: number,
): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

/** Starts nginx on a free port in front of the origin; returns it once the port accepts. */
export async function startNginx(
  group: ProcessGroup,
  originPort: number,
  cpus: string | null,
): Promise<{ process: ManagedProcess; port: number }> {
  const prefix = await Deno.makeTempDir({ prefix: "bench-nginx-" });
  const port = freePort();
  const configPath = `${prefix}/nginx.conf`;
  await Deno.writeTextFile(configPath, nginxConfig(prefix, port, originPort));
  const process = group.spawn(
    "nginx",
    "nginx",
    ["-p", prefix, "-e", `${prefix}/error.log`, "-c", configPath],
    { cpus },
  );
  process.exited.finally(() =>
    Deno.remove(prefix, { recursive: true }).catch(() => {})
  );
  await waitForPort(process, port, 10_000);
  return { process, port };
}

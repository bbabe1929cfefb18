#!/bin/sh
# Validates the deploy material offline, from a fresh clone:
#   1. the Workers bundle builds (wrangler deploy --dry-run; installs the
#      pinned wrangler on first use),
#   2. the nginx front config passes `nginx -t` (temp prefix, no root paths),
#   3. the Kubernetes manifests parse and keep their invariants (a shared
#      store for every pod included),
#   4. the docker compose file runs two gateways sharing one Redis (parsed
#      and checked offline; `docker compose config` too where Docker exists),
#   5. the systemd unit passes `systemd-analyze verify` (where available).
# Prints one line per check and exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "validate_deploy: Workers bundle (wrangler deploy --dry-run)"
sh deploy/workers/wrangler.sh deploy --dry-run --outdir "$work/workers" > "$work/wrangler.log" 2>&1 ||
  { cat "$work/wrangler.log"; exit 1; }
test -s "$work/workers/worker.js" || { echo "no worker.js in the dry-run output"; exit 1; }

echo "validate_deploy: nginx -t deploy/nginx/edge-gateway.conf"
if ! command -v nginx > /dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq > /dev/null && apt-get install -y -qq nginx > /dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<NGINX
pid $work/nginx/nginx.pid;
error_log stderr;
events {}
http {
  access_log off;
  client_body_temp_path $work/nginx/client_body;
  proxy_temp_path $work/nginx/proxy;
  include $PWD/deploy/nginx/edge-gateway.conf;
}
NGINX
"$nginx_bin" -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf"

echo "validate_deploy: Kubernetes manifests"
deno run --allow-read --allow-env=LOG_TOKENS,LOG_STREAM deploy/k8s/check_manifests.ts deploy/k8s

echo "validate_deploy: docker compose (gateway x2 + Redis)"
deno run --allow-read --allow-env=LOG_TOKENS,LOG_STREAM deploy/docker/check_compose.ts deploy/docker/compose.yaml
if command -v docker > /dev/null 2>&1 && docker compose version > /dev/null 2>&1; then
  docker compose -f deploy/docker/compose.yaml config --quiet
fi

if command -v systemd-analyze > /dev/null 2>&1; then
  echo "validate_deploy: systemd unit"
  systemd-analyze verify deploy/systemd/edge-gateway.service
fi

echo "validate_deploy: ok"

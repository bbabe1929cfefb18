#!/bin/sh
# Runs the pinned wrangler (deploy/workers/package.json) from the repository
# root, installing it on first use so `deno task dev:workers` and
# `deno task deploy:workers` work on a fresh clone.
#
#   sh deploy/workers/wrangler.sh dev --port 8787     # any wrangler command
#   sh deploy/workers/wrangler.sh --version           # install only (CI)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/deploy/workers"
wrangler="$tools/node_modules/.bin/wrangler"

pinned=$(sed -n 's/.*"wrangler": *"\([^"]*\)".*/\1/p' "$tools/package.json")
installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
  "$tools/node_modules/wrangler/package.json" 2>/dev/null | head -n 1 || true)
if [ ! -x "$wrangler" ] || [ "$installed" != "$pinned" ]; then
  echo "Installing wrangler $pinned into deploy/workers/node_modules ..." >&2
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >&2
fi

# wrangler's bundler resolves the app's bare imports (hono) from the
# node_modules/ that Deno fills from deno.json ("nodeModulesDir": "auto").
(cd "$root" && deno install --quiet) >&2

# No usage reporting from CI or developer machines unless asked for.
export WRANGLER_SEND_METRICS="${WRANGLER_SEND_METRICS:-false}"
cd "$root"
exec "$wrangler" "$@"

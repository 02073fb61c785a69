#!/usr/bin/env bash
# Quick start: run the demo on a local Prosody. Installs what is missing
# (Prosody + prosody-modules with apt, sudo when not root; npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/node-ok.sh; then
  echo "scripts/demo.sh: $(node --version 2>/dev/null || echo "no node") is older than 22.16; running with node@24 from npm (npx)" >&2
  exec npx -y -p node@24 bash scripts/demo.sh "$@"
fi
bash scripts/install-servers.sh prosody
[ -d node_modules ] && [ -f dist/app/cli.js ] || npm ci --no-audit --no-fund
exec node bin/presence-notify demo "$@"

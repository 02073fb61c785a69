#!/usr/bin/env bash
# Quick start: run the demo on a local Prosody. Installs what is missing
# (Prosody + prosody-modules with apt, sudo when not root; npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh prosody
[ -d node_modules ] && [ -f dist/cli.js ] || npm ci --no-audit --no-fund
exec node bin/presence-notify demo "$@"

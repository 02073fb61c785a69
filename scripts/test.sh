#!/usr/bin/env bash
# Quick start: run the whole test suite (unit, property and end-to-end tests
# against real Prosody). Installs what is missing first, then `npm test`.
# Needs Node.js 22.16+ or 24 (package.json "engines"); with an older one it
# runs itself again under node@24 from the npm registry (README, Installing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/node-ok.sh; then
  # An older Node (Debian's own, say): Node 24 from the npm registry, first on PATH.
  echo "scripts/test.sh: $(node --version 2>/dev/null || echo "no node") is older than 22.16; running with node@24 from npm (npx)" >&2
  exec npx -y -p node@24 bash scripts/test.sh "$@"
fi
bash scripts/install-servers.sh
[ -n "${CI:-}" ] || [ ! -d node_modules ] && npm ci --no-audit --no-fund
exec npm test

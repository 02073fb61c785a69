#!/usr/bin/env bash
# Quick start: run the whole test suite (unit, property and end-to-end tests
# against real Prosody). Installs what is missing first, then `npm test`.
# Needs Node.js 22.16+ or 24 first on PATH (package.json "engines"); with an
# older one: `npx -y -p node@24 bash scripts/test.sh` (README, Installing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major >= 24 || (major === 22 && minor >= 16) ? 0 : 1)' 2>/dev/null; then
  echo "scripts/test.sh: needs Node.js 22.16 or later, or 24 (this is $(node --version 2>/dev/null || echo "no node"));" \
    "with any npm: npx -y -p node@24 bash scripts/test.sh" >&2
  exit 1
fi
bash scripts/install-servers.sh
[ -n "${CI:-}" ] || [ ! -d node_modules ] && npm ci --no-audit --no-fund
exec npm test

#!/usr/bin/env bash
# Quick start: run the whole test suite (unit, property and end-to-end tests
# against real Prosody). Installs what is missing first, then `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh
[ -n "${CI:-}" ] || [ ! -d node_modules ] && npm ci --no-audit --no-fund
exec npm test

#!/usr/bin/env bash
# Exit 0 if the node on PATH is one package.json's "engines" supports (22.16+ or 24+).
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major >= 24 || (major === 22 && minor >= 16) ? 0 : 1)' 2>/dev/null

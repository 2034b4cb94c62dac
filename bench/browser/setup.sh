#!/usr/bin/env bash
# Installs the benchmark's comparison point (turndown 7.2.5 + jsdom 24, pinned in node/package.json) into
# bench/browser/node/node_modules. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$here/node/node_modules/turndown/package.json" ] && [ -f "$here/node/node_modules/jsdom/package.json" ]; then
  exit 0
fi
cd "$here/node" && npm install --no-audit --no-fund --silent

#!/usr/bin/env bash
# Installs the benchmark's comparison point (@dqbd/tiktoken, pinned in node/package.json) into
# bench/tokenizer/node/node_modules. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$here/node/node_modules/@dqbd/tiktoken/package.json" ]; then exit 0; fi
cd "$here/node" && npm install --no-audit --no-fund --silent

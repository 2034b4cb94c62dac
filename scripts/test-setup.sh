#!/usr/bin/env bash
# Test set-up beyond apt packages (idempotent; fast when everything is already present).
# Run by scripts/test.sh before ctest. Each module appends its own block.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- functions (issue 7): real MCP servers from npm for tests/functions (installed into tests/functions/npm/,
# node_modules is gitignored). Versions pinned in tests/functions/npm/package.json + package-lock.json.
mcp_dir="$root/tests/functions/npm"
if [ -x "$mcp_dir/node_modules/.bin/mcp-server-everything" ] && [ -x "$mcp_dir/node_modules/.bin/mcp-server-filesystem" ]; then
  echo "test-setup: MCP test servers present"
else
  echo "test-setup: installing MCP test servers into $mcp_dir"
  (cd "$mcp_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- serve (issue 14): the official openai npm client for tests/serve (pinned in tests/serve/npm/package.json +
# package-lock.json; node_modules is gitignored).
serve_dir="$root/tests/serve/npm"
if [ -f "$serve_dir/node_modules/openai/package.json" ]; then
  echo "test-setup: openai npm client present"
else
  echo "test-setup: installing the openai npm client into $serve_dir"
  (cd "$serve_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

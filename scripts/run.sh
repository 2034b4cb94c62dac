#!/usr/bin/env bash
# The main job: builds the runtime (installing its dependencies on a fresh machine) and runs one agent task.
# Usage: scripts/run.sh "task" [alltools run options...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh" >/dev/null
exec "${BUILD_DIR:-$root/build}/bin/alltools" run "$@"

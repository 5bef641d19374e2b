"""Independent implementations in Go (tests/independent/), built in GOPATH mode against Debian's
``golang.org/x/mod`` source (golang-go, golang-golang-x-mod-dev): they share no code with custody.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INDEPENDENT = Path(__file__).resolve().parents[1] / "independent"
GOPATH = Path(os.environ.get("CUSTODY_TEST_GOPATH", "/usr/share/gocode"))
X_MOD = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb"


def build_go(source: str, out: Path) -> Path:
    """``tests/independent/<source>`` built into ``out``; skipped without Go and x/mod, failed
    under CI."""
    missing = None
    if shutil.which("go") is None:
        missing = "the go tool is not installed (apt-get install golang-go)"
    elif not (X_MOD / "note").is_dir() or not (X_MOD / "tlog").is_dir():
        missing = (
            f"no golang.org/x/mod source under {GOPATH} (apt-get install golang-golang-x-mod-dev)"
        )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the independent Go implementations are required under CI: {missing}")
        pytest.skip(missing)
    binary = out / Path(source).stem.replace("_", "-")
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out / "cache"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    built = subprocess.run(
        ["go", "build", "-o", str(binary), str(INDEPENDENT / source)],
        env=env, cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, f"go build failed:\n{built.stdout}\n{built.stderr}"
    return binary

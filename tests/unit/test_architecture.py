"""The import rules of docs/architecture.md, as import-linter contracts (pyproject.toml):
the real tree keeps them, and a tree that breaks any one of them is caught."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT

LINT = Path(sys.executable).with_name("lint-imports")

# One import that breaks each contract, by the contract's name (pyproject.toml).
VIOLATIONS = {
    "Layers: the composition root": ("api/__init__.py", "import custody.web.pages"),
    "The core (crypto, ledger, domain, protocol, bundle)": (
        "ledger/merkle.py",
        "import custody.store.db",
    ),
    "The ledger keeps only the log": ("ledger/entry.py", "import custody.bundle.trail"),
    "The client speaks HTTP only": ("client/ids.py", "import custody.services.context"),
    "The use cases import no web framework": ("services/units.py", "import fastapi"),
    "A witness is its own program": ("witness/core.py", "import custody.store.db"),
    "A monitor reads the public log only": ("monitor/core.py", "import custody.client.http"),
}


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_tree_keeps_every_import_rule() -> None:
    result = _lint(REPO_ROOT / "src", REPO_ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_breaking_any_rule_is_caught(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "src" / "custody", src / "custody")
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line in VIOLATIONS.values():
        path = src / "custody" / module
        path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint(src, tmp_path)
    assert result.returncode != 0
    report = " ".join(result.stdout.split("Broken contracts")[-1].split())  # unwrapped
    for name in VIOLATIONS:
        assert name in report, f"{name!r} not reported broken:\n{result.stdout[-2000:]}"
    assert f"{len(VIOLATIONS)} broken" in result.stdout

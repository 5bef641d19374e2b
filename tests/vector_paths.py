"""Where the shared conformance vectors are: ../shared/vectors beside the repository,
or ``CUSTODY_VECTORS_DIR``. A module of its own so tests import it by a name no
other file shares (every ``conftest.py`` is importable as ``conftest``)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VECTORS_DIR = Path(os.environ.get("CUSTODY_VECTORS_DIR", REPO_ROOT.parent / "shared" / "vectors"))

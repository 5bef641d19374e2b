"""Where things are: the repository, and the shared conformance vectors (../shared/vectors
beside the repository, or ``CUSTODY_VECTORS_DIR``)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = Path(os.environ.get("CUSTODY_VECTORS_DIR", REPO_ROOT.parent / "shared" / "vectors"))

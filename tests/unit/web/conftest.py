"""The web tests reuse the in-process world of the API tests (tests/unit/api/security_world.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

"""The age tool (age-encryption.org's reference implementation), for the interoperability tests:
what custody writes, it opens, and what it writes, custody opens."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

AGE = shutil.which("age") or "/usr/bin/age"


@pytest.fixture(scope="module")
def age_tool() -> str:
    """The age tool's path; a test that needs it is skipped without it, but fails under CI."""
    if not Path(AGE).exists():
        if os.environ.get("CI"):
            pytest.fail(f"the age tool is required under CI (looked for {AGE})")
        pytest.skip(f"the age tool is not installed (looked for {AGE})")
    return AGE

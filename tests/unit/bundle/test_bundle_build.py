"""A bundle's bytes: every member deflated, and the same inputs make the same bytes.

``build_bundle`` once wrote each member from a ``ZipInfo``, whose own method (stored) wins
over the archive's ``ZIP_DEFLATED``: bundles went out uncompressed.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from custody.bundle import verify_bundle
from support.bundles import BUNDLE, LOG, bundle

_TESTS = Path(__file__).parents[2]
# The bundle, made in a fresh interpreter: its SHA-256.
_MAKE = "import hashlib, support.bundles as b; print(hashlib.sha256(b.bundle()).hexdigest())"
_PATH = os.pathsep.join(filter(None, [str(_TESTS), os.environ.get("PYTHONPATH")]))


def test_every_member_is_deflated_and_smaller_for_it() -> None:
    with zipfile.ZipFile(io.BytesIO(BUNDLE)) as zf:
        infos = zf.infolist()
    assert [i.compress_type for i in infos] == [zipfile.ZIP_DEFLATED] * len(infos)
    assert {i.filename for i in infos} >= {"manifest.json", "checkpoint", "entries/0"}
    stored = sum(i.file_size for i in infos)
    assert sum(i.compress_size for i in infos) < stored * 0.8


def test_the_same_inputs_make_the_same_bytes() -> None:
    assert bundle() == BUNDLE
    # Another interpreter, with other string hashes (so any set or dict order would differ).
    made = {
        subprocess.run(
            [sys.executable, "-c", _MAKE],
            cwd=_TESTS,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": _PATH},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert made == {hashlib.sha256(BUNDLE).hexdigest()}


def test_a_bundle_with_stored_members_from_an_older_custody_still_verifies() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BUNDLE)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    want = verify_bundle(BUNDLE, LOG.verifier.vkey)
    got = verify_bundle(out.getvalue(), LOG.verifier.vkey)
    assert (got.trail, got.checks, got.root_hash) == (want.trail, want.checks, want.root_hash)

"""The server refuses a log signing key that other users could read (outside development)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.crypto.signing import SigningKey
from custody.errors import LocalError
from custody.ledger.note import Signer
from custody.server import load_log_signer
from custody.settings import Settings


def _write_key(data_dir: Path, mode: int) -> Signer:
    signer = Signer("custody.test/log", SigningKey.generate())
    settings = Settings(data_dir=data_dir)
    settings.log_key_path.parent.mkdir(parents=True)
    settings.log_key_path.write_text(signer.to_skey() + "\n")
    settings.log_key_path.chmod(mode)
    settings.log_origin_path.write_text("custody.test/log\n")
    return signer


def test_private_key_loads(tmp_path: Path) -> None:
    signer = _write_key(tmp_path, 0o600)
    origin, loaded = load_log_signer(Settings(data_dir=tmp_path))
    assert origin == "custody.test/log"
    assert loaded is not None
    assert loaded.verifier.vkey == signer.verifier.vkey


def test_readable_key_is_refused_in_production(tmp_path: Path) -> None:
    _write_key(tmp_path, 0o644)
    with pytest.raises(LocalError, match="readable by other users"):
        load_log_signer(Settings(data_dir=tmp_path, mode="production"))


def test_readable_key_is_tolerated_in_development(tmp_path: Path) -> None:
    _write_key(tmp_path, 0o644)
    _, loaded = load_log_signer(Settings(data_dir=tmp_path, mode="development"))
    assert loaded is not None

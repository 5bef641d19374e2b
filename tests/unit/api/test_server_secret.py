"""The server secret: made 0600 by ``admin init``, never printed; weak ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from custody.cli.main import main
from custody.errors import LocalError
from custody.settings import Settings
from custody.store.server_secret import load_server_secret
from support.in_process import in_process


def test_admin_init_makes_a_private_secret_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["admin", "init", "--data-dir", str(data)]) == 0
    settings = Settings(data_dir=data)
    path = settings.server_secret_path
    assert path.stat().st_mode & 0o777 == 0o600
    secret = load_server_secret(settings)
    assert len(secret) == 32
    said = capsys.readouterr()
    assert path.read_text().strip() not in said.out + said.err
    assert "server secret" in said.out
    # A second init keeps it: second factors sealed under it stay readable.
    assert main(["admin", "init", "--data-dir", str(data)]) == 0
    assert load_server_secret(settings) == secret


def test_missing_or_exposed_secret_is_refused_in_production(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mode="production")
    with pytest.raises(LocalError, match="missing"):
        load_server_secret(settings)
    settings.server_secret_path.parent.mkdir()
    settings.server_secret_path.write_text("ab" * 32)
    settings.server_secret_path.chmod(0o644)
    with pytest.raises(LocalError, match="readable by other users"):
        load_server_secret(settings)
    settings.server_secret_path.chmod(0o600)
    settings.server_secret_path.write_text("")
    with pytest.raises(LocalError, match="empty or damaged"):
        load_server_secret(settings)


def test_development_mode_runs_without_a_secret(tmp_path: Path) -> None:
    assert load_server_secret(Settings(data_dir=tmp_path, mode="development"))


@pytest.mark.parametrize("value", ["", "short", "changeme" * 4, "0" * 64])
def test_weak_secret_from_the_environment_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="CUSTODY_SECRET_KEY"):
        Settings(mode="production", secret_key=value)
    Settings(mode="development", secret_key=value)  # tolerated while developing


def test_hsts_only_with_tls(tmp_path: Path) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}", tls=True) as w:
        response = w.client.get("/healthz")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-frame-options"] == "DENY"
        notice = w.client.get("/api/v1/notice").json()["notice"]
        assert notice == w.settings.system_use_notice

"""A bad CUSTODY_* setting is a clear error naming its variable (exit 2), not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.cli.main import main


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CUSTODY_TOKEN_TTL_HOURS", "abc", "valid integer"),
        ("CUSTODY_TRUSTED_PROXIES", "not-an-address", "not an IP address"),
        ("CUSTODY_MODE", "staging", "development"),
    ],
)
def test_a_bad_setting_names_its_variable(
    variable: str,
    value: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["admin", "init", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {variable}: ")
    assert said in err
    assert err.count(variable) == 1
    assert not (tmp_path / "data").exists()  # nothing was made

"""The operator's commands write what is the owner's alone, and leave the caller's umask be."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from custody.cli import admin
from custody.cli.main import main


def test_admin_commands_run_under_a_private_umask_and_restore_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real = admin.accounts.list_orgs

    def spy(ctx: object) -> object:
        current = os.umask(0)
        os.umask(current)
        seen.append(current)
        return real(ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(admin.accounts, "list_orgs", spy)
    before = os.umask(0o022)
    try:
        assert main(["admin", "init", "--data-dir", str(tmp_path / "d")]) == 0
        assert main(["admin", "org", "list", "--data-dir", str(tmp_path / "d")]) == 0
        assert os.umask(0o022) == 0o022  # put back after each command
    finally:
        os.umask(before)
    assert seen == [0o077]
    for path in (tmp_path / "d").rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"

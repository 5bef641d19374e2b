"""The session's Swift (tests/support/swift.py): when it cannot start, the tests that need
it are skipped with the reason — and fail under CI, which must never pass without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import swift


def _broken_script(tmp_path: Path) -> Path:
    script = tmp_path / "swift.sh"
    script.write_text("#!/usr/bin/env bash\n"
                      "[ \"$1\" = up ] && { echo 'swift.sh: error: no swift here' >&2; exit 1; }\n"
                      "exit 0\n")
    return script


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_under_ci_a_swift_that_does_not_start_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setattr(swift, "SWIFT_SH", _broken_script(tmp_path))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)Swift is required under CI.*no swift"), \
            swift.running_swift(tmp_path / "store"):
        pass


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_elsewhere_it_skips_saying_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    monkeypatch.setattr(swift, "SWIFT_SH", _broken_script(tmp_path))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"(?s)no Swift.*no swift here"), \
            swift.running_swift(tmp_path / "store"):
        pass

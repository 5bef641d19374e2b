"""``custody send DIR`` (issue 16): a folder's files, recursively, each with its folder kept in
its signed manifest, and ``custody receive`` restoring the same tree under ``--out``."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.world import CPS, new_urn

from .conftest import Terminal


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _evidence(root: Path) -> Path:
    """50 files in 3 levels: evidence/, evidence/cctv/, evidence/cctv/cam-2/ (and statements)."""
    top = root / "evidence"
    folders = [
        top,
        top / "statements",
        top / "cctv",
        top / "cctv" / "cam-1",
        top / "cctv" / "cam-2",
    ]
    for n in range(50):
        folder = folders[n % len(folders)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"exhibit-{n:02}.txt").write_bytes(f"exhibit JD/{n}\n".encode() * (n + 1))
    # The same name in two folders is two files, told apart by their folders.
    (top / "cctv" / "cam-1" / "index.txt").write_bytes(b"camera one")
    (top / "cctv" / "cam-2" / "index.txt").write_bytes(b"camera two")
    return top


@pytest.mark.slow  # over three seconds: the whole suite runs it, the fast run does not
def test_a_folder_of_files_in_three_levels_arrives_as_the_same_tree(
    terminal: Terminal, tmp_path: Path
) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    evidence = _evidence(tmp_path / "sent")
    sent = terminal.ok(officer, "send", evidence, "--case", urn, "--to", CPS, "--json").json()
    assert len(sent["items"]) == 52
    # The same folder again is the same send: nothing goes twice.
    again = terminal.ok(officer, "send", evidence, "--case", urn, "--to", CPS)
    assert f"Already sent: transfer {sent['id']}" in again.out

    out = tmp_path / "received"
    got = terminal.ok(prosecutor, "receive", sent["id"], "--out", out, "--json").json()
    assert len(got) == 52
    assert _tree(out) == {f"evidence/{k}": v for k, v in _tree(evidence).items()}
    paths = {Path(r["path"]).relative_to(out).as_posix() for r in got}
    assert "evidence/cctv/cam-2/index.txt" in paths
    assert {r["file_name"] for r in got if r["path"].endswith("index.txt")} == {"index.txt"}
    assert oct((out / "evidence" / "cctv").stat().st_mode & 0o777) == "0o700"
    # Received again into the same folder: every file is already there and verified.
    twice = terminal.ok(prosecutor, "receive", sent["id"], "--out", out)
    assert twice.out.count("already here and verified") == 52


def test_a_folder_in_the_way_is_not_written_through(terminal: Terminal, tmp_path: Path) -> None:
    """A receiver's --out holding a link (or a file) where a signed folder goes: refused,
    nothing written through it."""
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    folder = tmp_path / "sent" / "bundle"
    folder.mkdir(parents=True)
    (folder / "note.txt").write_bytes(b"note")
    sent = terminal.ok(officer, "send", folder, "--case", urn, "--to", CPS, "--json").json()
    out = tmp_path / "received"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "bundle").symlink_to(elsewhere)
    refused = terminal.run(prosecutor.home, "receive", sent["id"], "--out", out)
    assert refused.code == 6, refused.err
    assert "is in the way" in refused.err
    assert list(elsewhere.iterdir()) == []

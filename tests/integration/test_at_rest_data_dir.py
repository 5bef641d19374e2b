"""The server's data folder is its owner's alone: folders 0700, files 0600.

The database, SQLite's -wal and -shm, staged and published blobs, the keys and the log's
origin: what ``custody admin init``, the operator's commands and ``custody serve`` write.
Another account on the machine reads none of it. A folder an older version left open is
closed when the server starts, with a warning.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from support.cli import base_env, ok, run_custody
from support.server import People, Server, make_file, new_case, serving
from support.world import CPS

TUS = {"Tus-Resumable": "1.0.0"}


def _modes(root: Path) -> dict[Path, int]:
    """Every folder and file under ``root`` (itself included), with its permission bits."""
    found = {root: stat.S_IMODE(root.lstat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder) / name
            found[path] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _open_to_others(root: Path) -> dict[str, str]:
    """What is not exactly 0700 (folders) or 0600 (files), as {path: mode}."""
    return {str(path.relative_to(root.parent)): oct(mode) for path, mode in _modes(root).items()
            if mode != (0o700 if path.is_dir() else 0o600)}


def _stage_half_an_upload(people: People) -> None:
    """A tus upload left half done, so uploads/ holds a staged file as well."""
    urn = new_case(people.officer)
    with people.officer.api() as api:
        transfer = api.post("/api/v1/transfers", json={"case": urn, "to": [CPS]}).json()["id"]
        item = api.post(f"/api/v1/transfers/{transfer}/items",
                        json={"ciphertext_size": 1000}).json()["id"]
        created = api.post("/api/v1/uploads", headers={
            **TUS, "Upload-Length": "1000",
            "Upload-Metadata": f"item {base64.b64encode(item.encode()).decode()}"})
        assert created.status_code == 201, created.text
        patched = api.patch(created.headers["Location"], content=os.urandom(500), headers={
            **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert patched.status_code == 204, patched.text


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # the database files are the point
def test_everything_in_the_data_folder_is_the_owners_alone(
    server: Server, people: People, tmp_path: Path
) -> None:
    urn = new_case(people.officer)
    sent = make_file(tmp_path / "out", "interview.mp4", 300_000)
    people.officer.send([sent], urn)
    _stage_half_an_upload(people)

    found = _modes(server.data_dir)
    names = {p.name for p in found}
    # The walk saw what it is meant to judge: not a vacuous pass.
    assert {"custody.db", "custody.db-wal", "custody.db-shm", "log-origin.txt",
            "server.key", "log-signing.key"} <= names, sorted(names)
    assert any(p.parent == server.blobs for p in found), "no published blob"
    assert any(p.parent == server.staging for p in found), "no staged upload"
    assert _open_to_others(server.data_dir) == {}


def test_serve_closes_a_data_folder_left_open_and_says_so(tmp_path: Path, cli_runner: None) -> None:
    data = tmp_path / "data"
    env = base_env(HOME=str(tmp_path))
    ok(run_custody(["admin", "init", "--data-dir", str(data)], env, cwd=tmp_path))
    assert _open_to_others(data) == {}  # init made it private to begin with
    # As an older version, or a careless `cp -r`, left it.
    for path in _modes(data):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (data / "custody.db").chmod(0o664)

    with serving(data, env, cwd=tmp_path) as served:
        assert _open_to_others(data) == {}
    said = served.log_path.read_text()
    assert "warning:" in said, said
    assert "were readable by other users" in said, said
    assert "Traceback" not in said, said

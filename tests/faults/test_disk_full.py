"""The blob disk fills up during an upload (issue 15's fault suite).

A node of the shared server keeps its blobs on a small tmpfs (mounted by the test: it needs
root, as CI runs). A 40 MiB ``custody send`` into 24 MiB of space fails with a clear error that
says what to do; the upload keeps the offset it reached; once space is freed (the tmpfs grown),
the same command resumes and the file arrives intact.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import assert_fails
from support.server import People, Server, item_ids, new_case, serving
from support.world import CPS

pytestmark = [pytest.mark.faults, pytest.mark.slow]
MIB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the disk-full test mounts a tmpfs: CI runs as root")
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "blobs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
                   check=True, capture_output=True, timeout=30)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True,
                       timeout=30)


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_a_full_blob_disk_fails_clearly_keeps_the_offset_and_resumes(
    server: Server, people: People, tmp_path: Path, small_disk: Path
) -> None:
    env = {**server.env, "CUSTODY_BLOB_URL": f"file://{small_disk}"}
    with serving(server.data_dir, env, cwd=tmp_path) as node:
        officer = people.officer.at_another_machine(tmp_path / "officer")
        prosecutor = people.prosecutor.at_another_machine(tmp_path / "prosecutor")
        for person in (officer, prosecutor):
            person.login(url=node.url)
        source = tmp_path / "files" / "cctv.mp4"
        source.parent.mkdir()
        source.write_bytes(os.urandom(40 * MIB))
        urn = new_case(officer)
        send = ["send", str(source), "--case", urn, "--to", CPS]
        assert_fails(officer.run(*send), "disk is full", "free space on the server")
        staged = [p.stat().st_size for p in (small_disk / "uploads").glob("*.part")]
        assert len(staged) == 1
        assert 0 < staged[0] < 40 * MIB  # what arrived is kept, not thrown away

        subprocess.run(["mount", "-o", "remount,size=96m", str(small_disk)], check=True,
                       capture_output=True, timeout=30)  # the operator frees space
        said = officer.ok(*send).stdout
        assert "Sent transfer" in said
        tid = said.split("Sent transfer ", 1)[1].split()[0].rstrip(".:,")
        assert len(item_ids(officer, tid)) == 1
        prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
        assert (tmp_path / "in" / "cctv.mp4").read_bytes() == source.read_bytes()
        assert not list((small_disk / "uploads").glob("*.part"))  # published, not left staged
        # The shared server's own store gets the blob too: the tmpfs goes at the end, and
        # later tests (a backup, a scrub) read every stored item of this server.
        server.stored.objects.mkdir(parents=True, exist_ok=True, mode=0o700)
        for item in item_ids(officer, tid):
            server.stored.write(item, (small_disk / "objects" / "items" / item).read_bytes())
            (server.stored.objects / item).chmod(0o600)  # as the server writes its files

"""The object store goes away (issue 15's fault suite).

A node of the shared Swift server reaches Swift through a relay the test cuts: to custody the
object store is gone exactly as when its host or network is (connections reset, new ones
refused), while Swift itself stays up for the other tests. Cut in the middle of an upload, the
send fails with a clear error that says to run it again, and the node says it is not ready;
once the store is back the same command resumes from the offset the server kept, and the file
arrives intact. A receive while the store is away fails the same way and leaves nothing under
the file's name at its destination.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from support.cli import assert_fails
from support.relay import relaying
from support.server import People, Server, item_ids, new_case, serving
from support.world import CPS

pytestmark = [pytest.mark.faults, pytest.mark.slow]
MIB = 1 << 20


@pytest.mark.parametrize("server", ["swift"], indirect=True)
def test_an_object_store_outage_fails_cleanly_and_the_same_command_resumes_once_it_is_back(
    server: Server, people: People, tmp_path: Path
) -> None:
    endpoint = urlsplit(server.env["CUSTODY_S3_ENDPOINT_URL"])
    assert endpoint.hostname
    assert endpoint.port
    with relaying(endpoint.hostname, endpoint.port) as relay:
        env = {**server.env, "CUSTODY_S3_ENDPOINT_URL": relay.url}
        with serving(server.data_dir, env, cwd=tmp_path) as node:
            officer = people.officer.at_another_machine(tmp_path / "officer")
            prosecutor = people.prosecutor.at_another_machine(tmp_path / "prosecutor")
            for person in (officer, prosecutor):
                person.login(url=node.url)
            source = tmp_path / "files" / "interview.mp4"
            source.parent.mkdir()
            source.write_bytes(os.urandom(24 * MIB))
            urn = new_case(officer)
            send = ["send", str(source), "--case", urn, "--to", CPS]

            relay.cut_after(9 * MIB)  # past the first parts: the store goes mid-upload
            assert_fails(officer.run(*send), "object store", "again")
            assert relay.cuts == 1
            ready = httpx.get(f"{node.url}/readyz", timeout=60)
            assert (ready.status_code, ready.text) == (503, "not ready: blob store\n")

            relay.restore()
            assert httpx.get(f"{node.url}/readyz", timeout=60).status_code == 200
            said = officer.ok(*send).stdout
            assert "resuming" in said.lower(), said  # from the server's offset, not byte 0
            tid = said.split("Sent transfer ", 1)[1].split()[0].rstrip(".:,")
            assert len(item_ids(officer, tid)) == 1

            relay.cut()
            out = tmp_path / "in"
            assert_fails(prosecutor.run("receive", tid, "--out", str(out)), "again")
            # Nothing under the file's name: at most the hidden, owner-only temporary file a
            # resumed receive goes on from.
            assert not (out / "interview.mp4").exists()
            for left in out.rglob("*"):
                assert left.name.startswith(".custody-"), left
                assert left.stat().st_mode & 0o077 == 0, left
            relay.restore()
            prosecutor.ok("receive", tid, "--out", str(out))
            assert (out / "interview.mp4").read_bytes() == source.read_bytes()
            assert [p.name for p in out.iterdir()] == ["interview.mp4"]

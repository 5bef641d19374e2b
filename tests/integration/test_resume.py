"""Interrupted transfers resume where they stopped, in both directions.

Upload: the real ``custody send`` of a 96 MiB file is frozen (SIGSTOP) as soon as the server's
staged upload passes 32 MiB, then killed; the client has sent two of its three 32 MiB PATCHes at
most, so the upload cannot have completed. Running the same command again continues from the
server's offset and the receiver gets exactly the file.

Download: the real ``custody receive`` of a 96 MiB file is killed once it has written 32 MiB of
plaintext into its temporary file beside the destination (or that state is made by hand:
the plaintext so far, the age header in ``downloads/<item>.age.head``); running it again keeps
the whole chunks, seals them again to rebuild the ciphertext's hash, asks for the rest with a
Range request, verifies everything, and the ledger records the download from byte N.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from support.cli import CUSTODY, assert_fails, ok
from support.interrupted import left_behind, payload_start
from support.server import People, Server, item_ids, make_file, new_case
from support.world import CPS

MIB = 1024 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def _staged_size(server: Server) -> int:
    sizes = [p.stat().st_size for p in server.staging.glob("*.part") if p.exists()]
    return max(sizes, default=0)


def _big_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    with path.open("wb") as f:
        for i in range(size // MIB):
            f.write(i.to_bytes(8, "big") + block[8:])
    return path


def test_interrupted_upload_resumes(server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    source = _big_file(tmp_path / "files" / "ABE-interview-long.mp4", 96 * MIB)
    argv = [CUSTODY, "send", str(source), "--case", urn, "--to", CPS]
    sending = officer.home / "sending"
    earlier = set(sending.glob("*.json"))  # other sends of this person, refused unfinished
    log = tmp_path / "first-send.log"
    with log.open("wb") as out:
        first = subprocess.Popen(argv, env=officer.env(), cwd=officer.home, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while _staged_size(server) <= 32 * MIB:
            assert first.poll() is None, f"send ended early:\n{log.read_text()}"
            assert time.monotonic() < deadline, "the upload did not progress"
            time.sleep(0.002)
        first.send_signal(signal.SIGSTOP)
    finally:
        first.kill()
        first.wait(timeout=30)

    # The server keeps what arrived before the connection went away; wait until it settles.
    state_files = [p for p in sending.glob("*.json") if p not in earlier]
    assert len(state_files) == 1, "the client keeps what it needs to resume"
    state = json.loads(state_files[0].read_text())
    entry = state["items"][str(source.resolve())]
    upload_url = entry["upload"]
    with officer.api() as api:
        offsets: list[int] = []
        for _ in range(100):
            head = api.head(upload_url, headers={"Tus-Resumable": "1.0.0"})
            assert head.status_code == 200
            offsets.append(int(head.headers["Upload-Offset"]))
            if len(offsets) >= 3 and offsets[-1] == offsets[-3]:
                break
            time.sleep(0.1)
    interrupted_at = offsets[-1]
    ciphertext_size = int(head.headers["Upload-Length"])
    assert 32 * MIB < interrupted_at < ciphertext_size, (interrupted_at, ciphertext_size)
    assert not (server.blobs / entry["item"]).exists(), "not published: incomplete"
    transfer_id = state["transfer"]
    assert officer.transfer(transfer_id)["state"] == "draft"
    assert transfer_id not in prosecutor.ok("inbox").stdout

    resumed = officer.ok("send", str(source), "--case", urn, "--to", CPS, real=True).stdout
    assert f"Resuming transfer {transfer_id}" in resumed
    assert "resuming upload at" in resumed
    assert f"Sent transfer {transfer_id}" in resumed
    assert not state_files[0].exists()
    uploaded = [r for r in officer.history(transfer_id) if r["type"] == "item:uploaded"]
    assert len(uploaded) == 1

    out = tmp_path / "received"
    prosecutor.ok("receive", transfer_id, "--out", str(out))
    assert _sha256(out / source.name) == _sha256(source)


def test_interrupted_download_resumes_with_a_range(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    source = make_file(tmp_path / "files", "custody-photos.zip", 2 * MIB + 4321)
    transfer_id = officer.send([source], urn, CPS)
    item = item_ids(officer, transfer_id)[0]
    blob = (server.blobs / item).read_bytes()
    # 16 whole 64 KiB chunks and a little arrived: all but the last whole chunk are kept.
    out = tmp_path / "received"
    head, tmp = left_behind(prosecutor.home, item, blob, source.read_bytes()[: MIB + 123], out)
    partial = payload_start(blob) + 15 * (64 * 1024 + 16)

    said = prosecutor.ok("receive", transfer_id, "--out", str(out)).stdout
    assert f"resuming download at byte {partial}" in said
    assert (out / source.name).read_bytes() == source.read_bytes()
    assert not tmp.exists()
    assert not head.exists()

    downloads = [r for r in prosecutor.history(item) if r["type"] == "item:downloaded"]
    assert [(r["actor_email"], r["data"]) for r in downloads] == [
        (prosecutor.email, {"first_byte": partial, "last_byte": len(blob) - 1})]
    trail = ok(prosecutor.run("history", item)).stdout
    # "bytes FIRST to LAST", joined by an en dash (or a hyphen)
    assert re.search(rf"downloaded the ciphertext \(bytes {partial}[\u2013-]{len(blob) - 1}\)",
                     trail)

    # The server answers ranges itself as tus clients and the CLI expect.
    with prosecutor.api() as api:
        ranged = api.get(f"/api/v1/items/{item}/content", headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206
        assert ranged.content == blob[10:20]
        assert ranged.headers["Content-Range"] == f"bytes 10-19/{len(blob)}"
        beyond = api.get(f"/api/v1/items/{item}/content",
                         headers={"Range": f"bytes={len(blob)}-"})
        assert beyond.status_code == 416
        assert api.get(f"/api/v1/items/{item}/content",
                       headers={"Range": "bytes=1-2,5-6"}).status_code == 400


def test_unsatisfiable_range_is_not_recorded_as_a_download(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    transfer_id = officer.send([make_file(tmp_path, "note.txt", 1000)], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    size = (server.blobs / item).stat().st_size
    with prosecutor.api() as api:
        for bad in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=10-5"):
            assert api.get(f"/api/v1/items/{item}/content",
                           headers={"Range": bad}).status_code == 416
    assert [r for r in prosecutor.history(item) if r["type"] == "item:downloaded"] == []
    assert officer.transfer(transfer_id)["state"] == "sent"


def test_a_damaged_partial_download_is_refused_then_recovered(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    source = make_file(tmp_path / "files", "bwv-footage.mp4", MIB + 99)
    transfer_id = officer.send([source], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    blob = (server.blobs / item).read_bytes()
    damaged = bytearray(source.read_bytes()[: 5 * 64 * 1024 + 5000])
    damaged[4000] ^= 0xFF  # in a chunk that is kept and sealed again
    out = tmp_path / "received"
    head, tmp = left_behind(prosecutor.home, item, blob, bytes(damaged), out)

    failed = prosecutor.run("receive", transfer_id, "--out", str(out))
    assert_fails(failed, "failed verification", code=8)
    assert list(out.iterdir()) == []
    assert not tmp.exists(), "a damaged partial download is not kept to be resumed again"
    assert not head.exists()
    prosecutor.ok("receive", transfer_id, "--out", str(out))
    assert (out / source.name).read_bytes() == source.read_bytes()
    types = [r["type"] for r in prosecutor.history(item)]
    assert types.index("item:verification_failed") < types.index("item:received")


def test_a_killed_receive_resumes_from_the_plaintext_it_wrote(
        server: Server, people: People, tmp_path: Path) -> None:
    """The real ``custody receive`` of a 96 MiB file is frozen once its temporary file (the
    plaintext, decrypted as it arrived) passes 32 MiB, then killed. Nothing is at the
    destination but that file, which only its owner may read; the same command again asks
    for the rest with a Range request from the chunk it keeps, and gives back the file."""
    officer, prosecutor = people.officer, people.prosecutor
    source = _big_file(tmp_path / "files" / "ABE-interview-long.mp4", 96 * MIB)
    transfer_id = officer.send([source], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    out = tmp_path / "received"
    tmp = out / f".custody-{item}.tmp"
    log = tmp_path / "first-receive.log"
    with log.open("wb") as output:
        first = subprocess.Popen([CUSTODY, "receive", transfer_id, "--out", str(out)],
                                 env=prosecutor.env(), cwd=prosecutor.home, stdout=output,
                                 stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not tmp.exists() or tmp.stat().st_size <= 32 * MIB:
            assert first.poll() is None, f"receive ended early:\n{log.read_text()}"
            assert time.monotonic() < deadline, "the download did not progress"
            time.sleep(0.002)
        first.send_signal(signal.SIGSTOP)
    finally:
        first.kill()
        first.wait(timeout=30)

    assert [p.name for p in out.iterdir()] == [tmp.name], "nothing released, nothing else"
    assert tmp.stat().st_mode & 0o077 == 0
    kept = tmp.stat().st_size
    assert 32 * MIB < kept < 96 * MIB
    assert (prosecutor.home / "downloads" / f"{item}.age.head").exists()

    said = prosecutor.ok("receive", transfer_id, "--out", str(out)).stdout
    resumed = re.search(r"resuming download at byte (\d+)", said)
    assert resumed, said
    blob_size = (server.blobs / item).stat().st_size
    assert 32 * MIB < int(resumed[1]) < blob_size
    assert _sha256(out / source.name) == _sha256(source)
    assert [p.name for p in out.iterdir()] == [source.name]
    downloads = [r["data"] for r in prosecutor.history(item) if r["type"] == "item:downloaded"]
    assert downloads[-1] == {"first_byte": int(resumed[1]), "last_byte": blob_size - 1}

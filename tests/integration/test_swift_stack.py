"""The national service's stack end to end: PostgreSQL for metadata and the ledger, OpenStack
Swift's S3 for the ciphertext (docs/deployment.md), the real server and the real CLI.

send → receive (signature and hashes verified) → an evidence bundle verified with the log's
key; ranges served from the object store; a flipped bit in the stored object refused; no
plaintext and no file name in the bucket, on Swift's disk, in the database or in the logs;
and a tus upload whose PATCHes alternate between two ``custody serve`` processes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import assert_fails, ok, run_custody
from support.scan import scan_bytes, scan_database
from support.server import People, Person, Server, item_ids, make_file, new_case, serving
from support.swift import Swift
from support.world import CPS

pytestmark = pytest.mark.parametrize(
    "server", [pytest.param("swift", marks=[pytest.mark.postgres, pytest.mark.swift])],
    indirect=True)

MIB = 1024 * 1024
PART = 16 * MIB  # the server's part size (CUSTODY_S3_PART_SIZE_MIB's default)
TUS = {"Tus-Resumable": "1.0.0"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _swift(server: Server) -> Swift:
    assert server.backend == "swift"
    assert server.stored.swift is not None
    return server.stored.swift


def test_send_receive_verify(server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    folder = tmp_path / "officer"
    files = [
        make_file(folder, "ABE-interview-02.mp4", PART + 3 * MIB + 4321),  # two S3 parts
        make_file(folder, "MG11 statement.txt", content=b"I saw the following...\n"),
        make_file(folder, "empty-exhibit.csv", content=b""),
    ]
    transfer_id = officer.send(files, urn, CPS)
    items = item_ids(officer, transfer_id)
    transfer = officer.transfer(transfer_id)
    names = {i["id"]: i for i in transfer["items"]}

    # Each item's ciphertext is one object in the bucket; the uploads left nothing behind.
    client, bucket = _swift(server).client(), server.stored.bucket
    for item in items:
        stored = server.stored.read(item)
        uploaded = [r for r in officer.history(item) if r["type"] == "item:uploaded"]
        assert [r["data"] for r in uploaded] == [
            {"ciphertext_size": len(stored), "ciphertext_sha256": _sha(stored)}]
        assert names[item]["ciphertext_sha256"] == _sha(stored)
    uploads = [row[0] for row in server.query(
        "SELECT id FROM uploads WHERE item_id = ANY(:items)", items=list(items))]
    assert len(uploads) == 3
    assert not set(uploads) & set(server.stored.staged())
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    big = max(items, key=lambda i: len(server.stored.read(i)))
    head = client.head_object(Bucket=bucket, Key=f"custody/objects/items/{big}")
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]  # a multipart object

    received = tmp_path / "received"
    out = prosecutor.ok("receive", transfer_id, "--out", str(received)).stdout
    assert "Received 3 item(s)" in out
    for original in files:
        assert (received / original.name).read_bytes() == original.read_bytes(), original.name
        assert f"{original.name}: {original.stat().st_size} bytes, signature and SHA-256 " \
            "verified" in out

    # Ranges come from the object store as stored, across the parts' boundary too.
    blob = server.stored.read(big)
    with prosecutor.api() as api:
        for first, last in ((10, 19), (PART - 10, PART + 9), (len(blob) - 5, len(blob) - 1)):
            ranged = api.get(f"/api/v1/items/{big}/content",
                             headers={"Range": f"bytes={first}-{last}"})
            assert ranged.status_code == 206
            assert ranged.content == blob[first:last + 1]
            assert ranged.headers["Content-Range"] == f"bytes {first}-{last}/{len(blob)}"
        beyond = api.get(f"/api/v1/items/{big}/content", headers={"Range": f"bytes={len(blob)}-"})
        assert beyond.status_code == 416

    prosecutor.ok("ack", transfer_id)
    bundle = tmp_path / "evidence.zip"
    prosecutor.ok("bundle", big, "--out", str(bundle))
    said = ok(run_custody(["verify", str(bundle), "--log-key", server.log_key],
                          prosecutor.env())).stdout
    assert f"trail of item {big} complete up to the checkpoint" in said
    assert "Ledger OK" in server.operator("ledger", "verify").stdout


def test_a_flipped_bit_in_the_stored_object_is_refused(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    original = make_file(tmp_path / "sent", "tampered-statement.pdf", 200_000)
    transfer_id = officer.send([original], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    stored = server.stored.read(item)
    damaged = bytearray(stored)
    damaged[len(damaged) // 2] ^= 0x01
    server.stored.write(item, bytes(damaged))  # someone with the object store's keys
    out = tmp_path / "received"
    try:
        failed = prosecutor.run("receive", transfer_id, "--out", str(out))
        assert_fails(failed, f"item {item}", "failed verification", code=8)
        assert list(out.iterdir()) == [], "nothing may be released"
    finally:
        server.stored.write(item, stored)
    prosecutor.ok("receive", transfer_id, "--out", str(out))
    assert (out / original.name).read_bytes() == original.read_bytes()


# ── no plaintext anywhere the service keeps things ───────────────────────────────────────────


def _scan_tree(root: Path, needles: list[bytes]) -> tuple[list[str], int]:
    found: list[str] = []
    files = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files += 1
            found += scan_bytes(str(path), path.read_bytes(), needles)
            for name in os.listxattr(path):  # Swift keeps an object's metadata in xattrs
                found += scan_bytes(f"{path} [{name}]", os.getxattr(path, name), needles)
    return found, files


def _scan_bucket(server: Server, needles: list[bytes]) -> tuple[list[str], int]:
    client, bucket = _swift(server).client(), server.stored.bucket
    found: list[str] = []
    objects = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for listed in page.get("Contents", []):
            objects += 1
            answer = client.get_object(Bucket=bucket, Key=listed["Key"])
            with answer["Body"] as body:
                data = body.read()
            found += scan_bytes(f"s3://{bucket}/{listed['Key']}", data, needles)
            found += scan_bytes(f"s3://{bucket}/{listed['Key']} (name, metadata)",
                            f"{listed['Key']} {answer.get('Metadata')}".encode(), needles)
    return found, objects


def test_no_plaintext_in_the_bucket_on_swift_disk_in_the_database_or_logs(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    marker = f"PLAINTEXT-MARKER-{secrets.token_hex(12)}"
    name = f"secret-name-{secrets.token_hex(6)}.txt"
    content = (marker.encode() + b"\n") * 40_000  # about 1 MiB, several age chunks
    files = [make_file(tmp_path / "sent", name, content=content),
             make_file(tmp_path / "sent", "exhibit.bin", content=os.urandom(300) + marker.encode())]
    needles = [marker.encode(), name.encode()]
    transfer_id = officer.send(files, new_case(officer), CPS)
    received = tmp_path / "received"
    prosecutor.ok("receive", transfer_id, "--out", str(received))
    # The scans see plaintext where it is: on the receiver's disk.
    assert _scan_tree(received, needles)[0]

    leaks, objects = _scan_bucket(server, needles)
    assert objects >= 2
    swift = _swift(server)
    on_disk, files_scanned = _scan_tree(swift.object_files, needles)
    assert files_scanned >= objects
    leaks += on_disk
    for log in sorted((swift.folder / "log").glob("*.log")):
        leaks += scan_bytes(str(log), log.read_bytes(), needles)
    db_leaks, values = scan_database(server, needles)
    assert values > 100
    leaks += db_leaks + scan_bytes("server log", server.log_path.read_bytes(), needles)

    # Controls: the same scans find what is stored in clear — an object put there now, on
    # Swift's disk and in the bucket, and an address in the database.
    control = f"CONTROL-{secrets.token_hex(8)}".encode()
    swift.client().put_object(Bucket=server.stored.bucket, Key="control/plain", Body=control)
    try:
        assert _scan_tree(swift.object_files, [control])[0]
        assert _scan_bucket(server, [control])[0]
    finally:
        swift.client().delete_object(Bucket=server.stored.bucket, Key="control/plain")
    assert scan_database(server, [people.officer.email.encode()])[0]

    assert not leaks, "plaintext found on the service:\n" + "\n".join(leaks)


# ── several nodes ────────────────────────────────────────────────────────────────────────────


def _patch(url: str, token: str, upload: str, offset: int, body: bytes) -> httpx.Response:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return httpx.patch(f"{url}{upload}", content=body, timeout=120, headers={
        **TUS, "Authorization": f"Bearer {token}", "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": f"sha256 {digest}"})


def _offset(url: str, token: str, upload: str) -> int:
    answer = httpx.head(f"{url}{upload}", timeout=30,
                        headers={**TUS, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def _new_upload(officer: Person, size: int) -> tuple[str, str]:
    """A draft's item and its tus upload, made through the API: the item's id, the upload's
    path."""
    with officer.api() as api:
        draft = api.post("/api/v1/transfers", json={"case": new_case(officer), "to": [CPS]})
        assert draft.status_code == 201, draft.text
        made = api.post(f"/api/v1/transfers/{draft.json()['id']}/items",
                        json={"ciphertext_size": size})
        assert made.status_code == 201, made.text
        item = str(made.json()["id"])
        metadata = base64.b64encode(item.encode()).decode()
        created = api.post("/api/v1/uploads", headers={
            **TUS, "Upload-Length": str(size), "Upload-Metadata": f"item {metadata}"})
        assert created.status_code == 201, created.text
        return item, str(created.headers["Location"])


def test_a_tus_upload_alternates_between_two_nodes(
        server: Server, people: People, tmp_path: Path) -> None:
    """Two ``custody serve`` processes on one database and one bucket: the PATCHes of one
    upload go to each in turn (a refused one among them), HEAD on either says where it
    stands, and the blob published is the bytes sent, with the SHA-256 the ledger records."""
    officer = people.officer
    token = officer.session["token"]
    size = 2 * PART + 5 * MIB + 77
    data = os.urandom(size)
    item, upload = _new_upload(officer, size)

    with serving(server.data_dir, server.env, cwd=tmp_path) as other:
        nodes = [server.url, other.url]
        for node in nodes:
            ready = httpx.get(f"{node}/readyz", timeout=30)
            assert (ready.status_code, ready.text) == (200, "ready\n")
        cuts = [0, 3 * MIB, PART + 1, PART + 9 * MIB, 2 * PART, 2 * PART + 2 * MIB, size]
        for n, (start, end) in enumerate(itertools.pairwise(cuts)):
            node, next_node = nodes[n % 2], nodes[(n + 1) % 2]
            if n == 2:  # a PATCH whose bytes were damaged on the way: refused, rolled back
                bad = bytearray(data[start:end])
                bad[-1] ^= 1
                digest = base64.b64encode(hashlib.sha256(data[start:end]).digest()).decode()
                refused = httpx.patch(f"{node}{upload}", content=bytes(bad), timeout=120,
                                      headers={**TUS, "Authorization": f"Bearer {token}",
                                               "Upload-Offset": str(start),
                                               "Content-Type": "application/offset+octet-stream",
                                               "Upload-Checksum": f"sha256 {digest}"})
                assert refused.status_code == 460, refused.text
                assert _offset(next_node, token, upload) == start
            answer = _patch(node, token, upload, start, data[start:end])
            assert answer.status_code == 204, answer.text
            assert answer.headers["Upload-Offset"] == str(end)
            assert _offset(next_node, token, upload) == end
        assert other.proc.poll() is None, "the second node served to the end"

    assert server.stored.read(item) == data
    uploaded = [r for r in officer.history(item) if r["type"] == "item:uploaded"]
    assert [r["data"] for r in uploaded] == [{"ciphertext_size": size,
                                              "ciphertext_sha256": _sha(data)}]


def test_a_shredded_item_leaves_no_ciphertext_in_swift(
        server: Server, people: People, tmp_path: Path) -> None:
    """Shredding deletes the object and, on Swift, the multipart object's segments: none of
    its bytes stay in Swift's object files."""
    officer = people.officer
    transfer_id = officer.send([make_file(tmp_path, "cctv-long.mp4", PART + 2 * MIB)],
                               new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    stored = server.stored.read(item)
    samples = [stored[at:at + 48] for at in (1000, PART // 2, PART + 1000, len(stored) - 100)]
    swift = _swift(server)
    assert len(_scan_tree(swift.object_files, samples)[0]) >= len(samples)  # there, before

    server.admin("shred", item, "--reason", "court order 13")
    assert not server.stored.exists(item)
    left, _ = _scan_tree(swift.object_files, samples)
    assert not left, "ciphertext left on Swift's disk:\n" + "\n".join(left)


def test_a_node_whose_bucket_is_missing_is_alive_but_not_ready(
        server: Server, tmp_path: Path) -> None:
    env = {**server.env, "CUSTODY_BLOB_URL": f"s3://missing-{secrets.token_hex(6)}/custody"}
    with serving(server.data_dir, env, cwd=tmp_path) as node:
        assert httpx.get(f"{node.url}/healthz", timeout=30).status_code == 200
        ready = httpx.get(f"{node.url}/readyz", timeout=30)
        assert (ready.status_code, ready.text) == (503, "not ready: blob store\n")
    said = node.log_path.read_text(errors="replace")
    assert "the object store has no such bucket" in said
    assert "create the bucket named in CUSTODY_BLOB_URL" in said
    assert "testing" not in said  # Swift's tempauth secret, in the node's environment


# ── graceful shutdown ────────────────────────────────────────────────────────────────────────


class _SlowBody:
    """A PATCH body sent 1 MiB at a time, ``pause`` seconds apart; ``started`` is set once
    ``after`` MiB went."""

    def __init__(self, data: bytes, pause: float, after: int) -> None:
        self.data, self.pause, self.after = data, pause, after
        self.started = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        for n, at in enumerate(range(0, len(self.data), MIB)):
            if n == self.after:
                self.started.set()
            if n >= self.after:
                time.sleep(self.pause)
            yield self.data[at:at + MIB]


def _send_slowly(url: str, token: str, upload: str, body: _SlowBody,
                 answers: list[httpx.Response | Exception]) -> threading.Thread:
    digest = base64.b64encode(hashlib.sha256(body.data).digest()).decode()

    def run() -> None:
        try:
            answers.append(httpx.patch(f"{url}{upload}", content=iter(body), timeout=60, headers={
                **TUS, "Authorization": f"Bearer {token}", "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {digest}"}))
        except httpx.HTTPError as exc:
            answers.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_sigterm_lets_a_running_patch_finish(
        server: Server, people: People, tmp_path: Path) -> None:
    """SIGTERM: the node takes no new connection, the PATCH it is reading finishes (within
    the 5 s grace) before the node exits; the upload is complete and published."""
    officer = people.officer
    size = 20 * MIB
    data = os.urandom(size)
    _, upload = _new_upload(officer, size)
    answers: list[httpx.Response | Exception] = []
    with serving(server.data_dir, server.env, cwd=tmp_path) as node:
        body = _SlowBody(data, pause=0.08, after=4)  # about 1.3 s after the signal
        sending = _send_slowly(node.url, officer.session["token"], upload, body, answers)
        assert body.started.wait(30)
        node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while True:  # the listening socket closes at once
            try:
                httpx.get(f"{node.url}/healthz", timeout=1)
            except httpx.TransportError:
                break
            assert time.monotonic() < deadline, "still taking connections after SIGTERM"
            time.sleep(0.05)
        sending.join(60)
        # uvicorn finishes, then raises the signal it caught again: killed by SIGTERM, late.
        assert node.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        log = node.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
    [answer] = answers
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 204, answer.text
    assert answer.headers["Upload-Offset"] == str(size)
    assert _offset(server.url, officer.session["token"], upload) == size


def test_a_patch_longer_than_the_grace_keeps_what_arrived(
        server: Server, people: People, tmp_path: Path) -> None:
    """A PATCH still arriving 5 s after SIGTERM is cut; what the store recorded stays, any
    node says where the upload stands, and the sender continues there on another node."""
    officer = people.officer
    token = officer.session["token"]
    size = 40 * MIB
    data = os.urandom(size)
    _, upload = _new_upload(officer, size)
    answers: list[httpx.Response | Exception] = []
    with serving(server.data_dir, server.env, cwd=tmp_path) as node:
        # 20 MiB at once, then 1 MiB every 0.5 s: the other 20 MiB need 10 s, twice the grace
        # (at 0.25 s they could all arrive within it on a quiet machine, and nothing was cut).
        body = _SlowBody(data, pause=0.5, after=20)
        sending = _send_slowly(node.url, token, upload, body, answers)
        assert body.started.wait(30)
        node.proc.send_signal(signal.SIGTERM)
        sending.join(60)
        node.proc.wait(timeout=30)
    [answer] = answers
    assert not (isinstance(answer, httpx.Response) and answer.status_code == 204), answer
    kept = _offset(server.url, token, upload)
    assert 16 * MIB <= kept < size  # at least the first 16 MiB batch was written
    finished = _patch(server.url, token, upload, kept, data[kept:])
    assert finished.status_code == 204, finished.text
    item = next(row[0] for row in server.query(
        "SELECT item_id FROM uploads WHERE id = :u", u=upload.rsplit("/", 1)[1]))
    assert server.stored.read(item) == data
    uploaded = [r for r in officer.history(item) if r["type"] == "item:uploaded"]
    assert [r["data"]["ciphertext_sha256"] for r in uploaded] == [_sha(data)]


# ── one upload, two nodes at once ────────────────────────────────────────────────────────────


class _TwoPartBody:
    """16 MiB at once, then a wait for the other sender to get as far, then the rest."""

    def __init__(self, data: bytes, together: threading.Barrier) -> None:
        self.data, self.together = data, together

    def __iter__(self) -> Iterator[bytes]:
        for at in range(0, PART, MIB):
            yield self.data[at:at + MIB]
        self.together.wait(30)
        time.sleep(0.5)  # both nodes now hold a full batch and write it
        yield self.data[PART:]


def test_two_patches_of_one_upload_on_two_nodes_take_turns(
        server: Server, people: People, tmp_path: Path) -> None:
    """Two senders of one upload, on two nodes at the same moment, with different bytes:
    one PATCH is written whole, the other is refused (409) before it changes anything, and
    the published blob is exactly one sender's bytes, with its SHA-256 in the ledger."""
    officer = people.officer
    token = officer.session["token"]
    size = PART + MIB
    _, upload = _new_upload(officer, size)
    sent = {"a": os.urandom(size), "b": os.urandom(size)}
    together = threading.Barrier(2)
    answers: dict[str, httpx.Response | Exception] = {}

    def send(name: str, url: str) -> None:
        try:
            answers[name] = httpx.patch(
                f"{url}{upload}", content=iter(_TwoPartBody(sent[name], together)), timeout=60,
                headers={**TUS, "Authorization": f"Bearer {token}", "Upload-Offset": "0",
                         "Content-Type": "application/offset+octet-stream"})
        except httpx.HTTPError as exc:
            answers[name] = exc

    with serving(server.data_dir, server.env, cwd=tmp_path) as other:
        threads = [threading.Thread(target=send, args=("a", server.url)),
                   threading.Thread(target=send, args=("b", other.url))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    statuses = {name: getattr(answer, "status_code", answer) for name, answer in answers.items()}
    assert sorted(map(str, statuses.values())) == ["204", "409"], statuses
    winner = next(name for name, status in statuses.items() if status == 204)
    item = next(row[0] for row in server.query(
        "SELECT item_id FROM uploads WHERE id = :u", u=upload.rsplit("/", 1)[1]))
    assert server.stored.read(item) == sent[winner]
    uploaded = [r for r in officer.history(item) if r["type"] == "item:uploaded"]
    assert [r["data"]["ciphertext_sha256"] for r in uploaded] == [_sha(sent[winner])]

"""``custody.client.receiving`` against the real app in process: nothing is released until the
signature, the ids and both hashes check; a tampered ciphertext, or a sender's key the ledger
does not show, is refused with nothing written; a download resumes from what arrived."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custody.client import receiving, sending
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError, ServerUnavailable
from support.client import Desks, Machine, with_content, with_json
from support.interrupted import left_behind, payload_start
from support.world import CPS, new_urn

CONTENT = r"/api/v1/items/[0-9a-f-]{36}/content"


def sent(desks: Desks, tmp_path: Path, content: bytes, name: str = "statement.pdf") -> str:
    """A transfer of one file from the officer to CPS, sent with the real client."""
    officer = desks.officer
    urn = new_urn()
    made = desks.app.client.post("/api/v1/cases", headers=officer.member.auth, json={"urn": urn})
    assert made.status_code == 201, made.text
    source = tmp_path / "sent" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(content)
    with officer.active():
        transfer = sending.send(officer.api, officer.session, officer.keys, [source], urn, [CPS],
                                None, officer.say)
    return transfer.id


def receive(reader: Machine, transfer: str, out: Path) -> list[receiving.Received]:
    with reader.active():
        return receiving.receive(reader.api, reader.session, reader.keys, transfer, out,
                                 reader.say)


def trail(desks: Desks, reader: Machine, item: str) -> list[dict[str, object]]:
    got = desks.app.client.get(f"/api/v1/history/{item}", headers=reader.member.auth)
    assert got.status_code == 200, got.text
    rows: list[dict[str, object]] = got.json()
    return rows


def test_what_was_signed_is_released_to_its_owner_alone(desks: Desks, tmp_path: Path) -> None:
    content = os.urandom(200_000)
    transfer = sent(desks, tmp_path, content)
    out = tmp_path / "received"
    (got,) = receive(desks.prosecutor, transfer, out)
    assert got.path == out / "statement.pdf"
    assert got.path.read_bytes() == content
    assert stat.S_IMODE(got.path.stat().st_mode) == 0o600
    assert got.manifest.size == len(content)
    assert [p.name for p in out.iterdir()] == ["statement.pdf"]  # no temporary file left
    assert not list((desks.prosecutor.home / "downloads").iterdir())
    verified = f"statement.pdf: 200000 bytes, signature and SHA-256 verified, item {got.item}"
    assert verified in desks.prosecutor.said
    types = [r["type"] for r in trail(desks, desks.prosecutor, got.item)]
    assert types.index("item:downloaded") < types.index("item:received")
    # The same again: already here and verified, nothing downloaded twice.
    receive(desks.prosecutor, transfer, out)
    assert f"statement.pdf: already here and verified, item {got.item}" in desks.prosecutor.said


def test_a_tampered_ciphertext_is_refused_and_nothing_is_written(
    desks: Desks, tmp_path: Path
) -> None:
    transfer = sent(desks, tmp_path, os.urandom(100_000))
    prosecutor = desks.prosecutor

    def flip(_: httpx.Request, answer: httpx.Response) -> httpx.Response:
        damaged = bytearray(answer.content)
        damaged[len(damaged) // 2] ^= 0x01
        return with_content(answer, bytes(damaged))

    prosecutor.tampering.on("GET", CONTENT, flip)
    out = tmp_path / "received"
    with pytest.raises(receiving.VerificationFailed, match="ciphertext is not what the sender"):
        receive(prosecutor, transfer, out)
    assert list(out.iterdir()) == [], "nothing may be released, not even a temporary file"
    assert not list((prosecutor.home / "downloads").iterdir())
    item = desks.app.client.get(f"/api/v1/transfers/{transfer}",
                                headers=prosecutor.member.auth).json()["items"][0]["id"]
    rows = trail(desks, prosecutor, item)
    failed = [r for r in rows if r["type"] == "item:verification_failed"]
    assert [r["actor_email"] for r in failed] == [prosecutor.member.email]
    assert not any(r["type"] == "item:received" for r in rows)

    prosecutor.tampering.honest()  # the honest copy is then received as it was sent
    (got,) = receive(prosecutor, transfer, out)
    assert got.path.read_bytes() == (tmp_path / "sent" / "statement.pdf").read_bytes()


def test_a_senders_signing_key_the_ledger_does_not_show_is_refused(
    desks: Desks, tmp_path: Path
) -> None:
    transfer = sent(desks, tmp_path, b"JB/1,still\n", "exhibit.csv")
    prosecutor = desks.prosecutor
    forged = SigningKey.generate().public_key.to_b64()
    prosecutor.tampering.on("GET", rf"/api/v1/transfers/{transfer}", lambda _, answer: with_json(
        answer, {**answer.json(), "sender_signing_key": forged}))
    out = tmp_path / "received"
    with pytest.raises(IntegrityError, match="not the one the ledger shows"):
        receive(prosecutor, transfer, out)
    assert not out.exists() or not any(out.iterdir())
    assert not any(s.startswith("GET /api/v1/items/") for s in prosecutor.tampering.seen)


def test_ids_from_the_server_never_name_files(desks: Desks, tmp_path: Path) -> None:
    transfer = sent(desks, tmp_path, b"a note\n", "note.txt")
    prosecutor = desks.prosecutor
    escape = "../../../../escaped"
    prosecutor.tampering.on("GET", rf"/api/v1/transfers/{transfer}", lambda _, answer: with_json(
        answer, {**answer.json(), "items": [{**i, "id": escape} for i in answer.json()["items"]]}))
    with pytest.raises(IntegrityError, match="malformed item id"):
        receive(prosecutor, transfer, tmp_path / "received")
    assert not list(tmp_path.rglob("escaped*"))


CHUNK = 64 * 1024


def test_a_download_resumes_from_what_arrived(desks: Desks, tmp_path: Path) -> None:
    content = os.urandom(150_000)
    transfer = sent(desks, tmp_path, content)
    prosecutor = desks.prosecutor
    item = desks.app.client.get(f"/api/v1/transfers/{transfer}",
                                headers=prosecutor.member.auth).json()["items"][0]["id"]
    blob = (desks.app.settings.data_dir / "blobs" / "objects" / "items" / item).read_bytes()
    # Two whole chunks arrived and part of the third: all but the last whole one is kept.
    out = tmp_path / "received"
    head, tmp = left_behind(prosecutor.home, item, blob, content[:140_000], out)
    resume_at = payload_start(blob) + CHUNK + 16
    ranges: list[str | None] = []

    def record(request: httpx.Request, answer: httpx.Response) -> httpx.Response:
        ranges.append(request.headers.get("Range"))
        return answer

    prosecutor.tampering.on("GET", CONTENT, record)
    (got,) = receive(prosecutor, transfer, out)
    assert got.path.read_bytes() == content
    assert ranges == [f"bytes={resume_at}-"]
    assert f"statement.pdf: resuming download at byte {resume_at}" in prosecutor.said
    assert not tmp.exists()
    assert not head.exists()
    assert [p.name for p in out.iterdir()] == ["statement.pdf"]
    downloads = [r for r in trail(desks, prosecutor, item) if r["type"] == "item:downloaded"]
    assert [r["data"] for r in downloads] == [
        {"first_byte": resume_at, "last_byte": len(blob) - 1}]


def test_a_damaged_partial_download_is_not_kept(desks: Desks, tmp_path: Path) -> None:
    content = os.urandom(200_000)
    transfer = sent(desks, tmp_path, content)
    prosecutor = desks.prosecutor
    item = desks.app.client.get(f"/api/v1/transfers/{transfer}",
                                headers=prosecutor.member.auth).json()["items"][0]["id"]
    blob = (desks.app.settings.data_dir / "blobs" / "objects" / "items" / item).read_bytes()
    damaged = bytearray(content[:140_000])  # one whole chunk kept, and it was altered
    damaged[4000] ^= 0xFF
    out = tmp_path / "received"
    head, tmp = left_behind(prosecutor.home, item, blob, bytes(damaged), out)
    with pytest.raises(receiving.VerificationFailed, match="ciphertext is not what the sender"):
        receive(prosecutor, transfer, out)
    assert list(out.iterdir()) == []
    assert not tmp.exists(), "a damaged partial download is not resumed again"
    assert not head.exists()
    (got,) = receive(prosecutor, transfer, out)
    assert got.path.read_bytes() == content


def test_a_receive_that_broke_off_keeps_what_authenticated(
    desks: Desks, tmp_path: Path
) -> None:
    """The connection breaks mid-way: the chunks that authenticated stay in the temporary file
    (only its owner may read it) to resume from; nothing is at the destination."""
    content = os.urandom(20 * CHUNK + 5)
    transfer = sent(desks, tmp_path, content)
    prosecutor = desks.prosecutor

    def cut(_: httpx.Request, answer: httpx.Response) -> httpx.Response:
        def broken() -> Iterator[bytes]:
            yield answer.content[: 9 * CHUNK]
            raise httpx.ReadError("connection reset")

        return httpx.Response(answer.status_code, headers=answer.headers,
                              stream=_Stream(broken()))

    prosecutor.tampering.on("GET", CONTENT, cut)
    out = tmp_path / "received"
    with pytest.raises(ServerUnavailable):
        receive(prosecutor, transfer, out)
    (left,) = out.iterdir()
    assert left.name.startswith(".custody-")
    assert stat.S_IMODE(left.stat().st_mode) == 0o600
    assert left.read_bytes() == content[: left.stat().st_size]
    assert left.stat().st_size % CHUNK == 0
    assert left.stat().st_size >= 7 * CHUNK
    prosecutor.tampering.honest()
    (got,) = receive(prosecutor, transfer, out)
    assert got.path.read_bytes() == content
    assert "resuming download at byte" in prosecutor.said[-2]
    assert [p.name for p in out.iterdir()] == ["statement.pdf"]


class _Stream(httpx.SyncByteStream):
    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks

    def __iter__(self) -> Iterator[bytes]:
        return self._blocks

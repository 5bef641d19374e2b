"""``custody.client.sending`` against the real app in process: what leaves the sender's machine
is ciphertext; an interrupted upload resumes from the server's offset; a key the ledger does
not show is never wrapped for; the server's answers are checked before they are used."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from custody.client import receiving, sending
from custody.client.sizes import human_size
from custody.crypto.keys import UserKeys
from custody.errors import CustodyError, IntegrityError, LocalError, ServerUnavailable
from custody.services import uploads
from custody.store.models import KeyWrap
from support.client import Desks, Machine, with_json
from support.in_process import TUS
from support.world import CPS, new_urn

UPLOADS = r"/api/v1/uploads/[0-9a-f]{32}"
MIB = 1024 * 1024


def case(sender: Machine, desks: Desks) -> str:
    urn = new_urn()
    made = desks.app.client.post("/api/v1/cases", headers=sender.member.auth, json={"urn": urn})
    assert made.status_code == 201, made.text
    return urn


def send(sender: Machine, files: list[Path], urn: str, *to: str) -> str:
    with sender.active():
        sent = sending.send(sender.api, sender.session, sender.keys, files, urn, list(to or [CPS]),
                            None, sender.say)
    assert sent.state == "sent"
    return sent.id


def blob(desks: Desks, item: str) -> bytes:
    return (desks.app.settings.data_dir / "blobs" / "objects" / "items" / item).read_bytes()


def wraps_for(desks: Desks, recipient: str) -> int:
    with desks.app.ctx.unit_of_work() as session:
        return int(session.scalar(
            select(func.count()).select_from(KeyWrap).where(KeyWrap.recipient == recipient)) or 0)


def test_only_ciphertext_leaves_the_machine_and_nothing_is_left_to_resume(
    desks: Desks, tmp_path: Path
) -> None:
    officer = desks.officer
    plain = b"I saw the following... " * 5000  # more than one 64 KiB age chunk
    files = [tmp_path / "MG11 statement.txt", tmp_path / "empty.csv"]
    files[0].write_bytes(plain)
    files[1].write_bytes(b"")
    transfer = send(officer, files, case(officer, desks))

    view = desks.app.client.get(f"/api/v1/transfers/{transfer}", headers=officer.member.auth)
    items = view.json()["items"]
    assert [i["state"] for i in items] == ["sealed", "sealed"]
    stored = blob(desks, items[0]["id"])
    assert stored.startswith(b"age-encryption.org/v1\n")
    assert b"I saw the following" not in stored
    assert len(stored) == items[0]["ciphertext_size"] > len(plain)
    assert not list((officer.home / "sending").glob("*.json"))
    assert any("MG11 statement.txt: sealed and signed" in line for line in officer.said)


def _in_patches(desks: Desks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                size: int) -> tuple[Path, str]:
    """A file of ``size`` random bytes the officer sends in 1 MiB PATCHes (several for a small
    file), and a case of theirs to send it for."""
    monkeypatch.setattr(sending, "PATCH_BYTES", MIB)
    source = tmp_path / name
    source.write_bytes(os.urandom(size))
    return source, case(desks.officer, desks)


def _receives_intact(desks: Desks, transfer: str, source: Path, out: Path) -> None:
    """The prosecutor receives ``transfer`` into ``out``: ``source``, byte for byte."""
    prosecutor = desks.prosecutor
    with prosecutor.active():
        receiving.receive(prosecutor.api, prosecutor.session, prosecutor.keys, transfer, out,
                          prosecutor.say)
    assert (out / source.name).read_bytes() == source.read_bytes()


def test_an_interrupted_upload_resumes_from_the_servers_offset(
    desks: Desks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = desks.officer
    source, urn = _in_patches(desks, tmp_path, monkeypatch, "ABE-interview.mp4", 3 * MIB + 1000)
    arrived: list[tuple[int, int]] = []  # (offset, bytes) of each PATCH the server answered

    def record(request: httpx.Request, answer: httpx.Response) -> httpx.Response:
        arrived.append((int(request.headers["Upload-Offset"]),
                        int(request.headers["Content-Length"])))
        return answer

    officer.tampering.on("PATCH", UPLOADS, record)
    patches = itertools.count(1)
    officer.tampering.fail("PATCH", UPLOADS, when=lambda: next(patches) == 3)
    with pytest.raises(ServerUnavailable, match=r"broke off|cannot reach"), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [source], urn, [CPS], None,
                     officer.say)
    (state,) = (officer.home / "sending").glob("*.json")  # what it needs to resume
    (entry,) = json.loads(state.read_text())["items"].values()
    head = desks.app.client.head(entry["upload"], headers={**TUS, **officer.member.auth})
    held = int(head.headers["Upload-Offset"])
    assert len(arrived) == 2  # the third never arrived
    assert held == sum(arrived[1]) > 0

    officer.tampering.breaks.clear()
    officer.said.clear()
    transfer = send(officer, [source], urn)
    assert not state.exists()
    assert officer.said[0] == f"Resuming transfer {transfer}"
    assert f"resuming upload at {human_size(held)}" in "\n".join(officer.said)
    assert arrived[2][0] == held  # the rest, from where the server stopped

    _receives_intact(desks, transfer, source, tmp_path / "received")


def test_a_patch_that_finds_the_offset_moved_goes_on_from_the_servers_offset(
    desks: Desks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server wrote the second PATCH, but its answer says 409: as when a killed earlier
    # run's request was still being written when this run asked where to resume.
    officer = desks.officer
    source, urn = _in_patches(desks, tmp_path, monkeypatch, "CCTV.mp4", 3 * MIB + 500)
    patches = itertools.count(1)
    offsets: list[int] = []

    def conflict_once(request: httpx.Request, answer: httpx.Response) -> httpx.Response:
        offsets.append(int(request.headers["Upload-Offset"]))
        if next(patches) != 2:
            return answer
        body = {"error": {"code": "conflict", "message": "Upload-Offset is not the upload's"}}
        return httpx.Response(409, json=body, request=request)

    officer.tampering.on("PATCH", UPLOADS, conflict_once)
    transfer = send(officer, [source], urn)
    assert "HEAD" in " ".join(s for s in officer.tampering.seen if "uploads" in s)
    assert len(offsets) == len(set(offsets))  # nothing the server held was sent twice
    _receives_intact(desks, transfer, source, tmp_path / "received")


def test_an_upload_whose_bytes_all_arrived_but_never_published_completes_on_resume(
    desks: Desks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The node wrote the last PATCH and died before publishing the upload: every byte is
    # there, the item still "uploading". The resumed send finds the offset at the end.
    officer = desks.officer
    source, urn = _in_patches(desks, tmp_path, monkeypatch, "BWV.mp4", 2 * MIB + 77)
    real_finish = uploads.finish

    def dies(*_: object, **__: object) -> None:
        raise RuntimeError("the node died before publishing")

    monkeypatch.setattr(uploads, "finish", dies)
    with pytest.raises(CustodyError), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [source], urn, [CPS], None,
                     officer.say)
    monkeypatch.setattr(uploads, "finish", real_finish)
    officer.said.clear()
    transfer = send(officer, [source], urn)
    assert any("resuming upload at" in line for line in officer.said)
    _receives_intact(desks, transfer, source, tmp_path / "received")


def test_a_readers_key_the_ledger_does_not_show_is_never_wrapped_for(
    desks: Desks, tmp_path: Path
) -> None:
    officer, prosecutor = desks.officer, desks.prosecutor
    attacker = UserKeys.generate().age_recipient

    def swap(_: httpx.Request, answer: httpx.Response) -> httpx.Response:
        body = answer.json()
        for reader in body["readers"]:
            if reader["user_id"] == prosecutor.member.user_id:
                reader["recipient"] = attacker
        return with_json(answer, body)

    officer.tampering.on("POST", "/api/v1/transfers", swap)
    file = tmp_path / "statement.txt"
    file.write_bytes(b"for the prosecutor only\n")
    with pytest.raises(IntegrityError, match="not the one the ledger shows"), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [file], case(officer, desks),
                     [prosecutor.member.email], None, officer.say)
    assert wraps_for(desks, attacker) == 0
    assert not any(s.startswith("PATCH") for s in officer.tampering.seen)


def test_a_recovery_key_the_ledger_does_not_show_is_never_wrapped_for(
    desks: Desks, tmp_path: Path
) -> None:
    officer = desks.officer
    attacker = UserKeys.generate().age_recipient
    officer.tampering.on("POST", "/api/v1/transfers", lambda _, answer: with_json(answer, {
        **answer.json(),
        "readers": [r if r["org_id"] is None else {**r, "recipient": attacker}
                    for r in answer.json()["readers"]],
    }))
    file = tmp_path / "exhibit.txt"
    file.write_bytes(b"JB/1\n")
    with pytest.raises(IntegrityError, match="recovery key"), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [file], case(officer, desks),
                     [CPS], None, officer.say)
    assert wraps_for(desks, attacker) == 0


def test_a_reader_who_is_nobody_is_refused(desks: Desks, tmp_path: Path) -> None:
    officer = desks.officer
    officer.tampering.on("POST", "/api/v1/transfers", lambda _, answer: with_json(answer, {
        **answer.json(),
        "readers": [*answer.json()["readers"], {
            "recipient": UserKeys.generate().age_recipient, "user_id": None, "org_id": None,
            "label": "a friend of the server", "key_index": None}],
    }))
    file = tmp_path / "exhibit.txt"
    file.write_bytes(b"JB/1\n")
    with pytest.raises(IntegrityError, match="neither a person nor an organisation"), \
            officer.active():
        sending.send(officer.api, officer.session, officer.keys, [file], case(officer, desks),
                     [CPS], None, officer.say)


@pytest.mark.parametrize(("header", "value", "words"), [
    ("location", "http://evil.example/api/v1/uploads/" + "0" * 32, "malformed upload location"),
    ("upload-offset", "\u00b2".encode(), "upload offset"),  # a digit, to str.isdigit
    ("upload-offset", "99999999999", "upload offset"),
])
def test_the_servers_upload_answers_are_checked_before_use(
    desks: Desks, tmp_path: Path, header: str, value: str | bytes, words: str
) -> None:
    officer = desks.officer

    def lie(_: httpx.Request, answer: httpx.Response) -> httpx.Response:
        headers: dict[str, str | bytes] = {**answer.headers, header: value}
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    officer.tampering.on("POST", "/api/v1/uploads", lie)
    file = tmp_path / "note.txt"
    file.write_bytes(b"a note\n")
    with pytest.raises(IntegrityError, match=words), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [file], case(officer, desks),
                     [CPS], None, officer.say)
    assert not any(s.startswith("PATCH") for s in officer.tampering.seen)


def test_a_missing_file_sends_nothing(desks: Desks, tmp_path: Path) -> None:
    officer = desks.officer
    present = tmp_path / "present.txt"
    present.write_bytes(b"x")
    urn = case(officer, desks)
    with pytest.raises(LocalError, match="no such file"), officer.active():
        sending.send(officer.api, officer.session, officer.keys,
                     [present, tmp_path / "absent.mp4"], urn, [CPS], None, officer.say)
    assert officer.tampering.seen == []
    same = tmp_path / "again" / "present.txt"
    same.parent.mkdir()
    same.write_bytes(b"y")
    with pytest.raises(LocalError, match="same name"), officer.active():
        sending.send(officer.api, officer.session, officer.keys, [present, same], urn, [CPS],
                     None, officer.say)
    assert officer.tampering.seen == []

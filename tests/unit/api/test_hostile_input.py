"""Hostile input: names, sizes, malformed tus, look-alike addresses, JSON bombs, headers."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from custody.crypto.manifest import safe_file_name
from custody.domain.people import Role, normalise_email
from custody.errors import CustodyError, InvalidInput
from support.in_process import TUS, InProcess, in_process
from support.world import CPS, POLICE


@pytest.fixture
def w(tmp_path: Path) -> Any:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as made:
        made.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        yield made


def _auth(w: InProcess) -> dict[str, str]:
    return w.members["officer"].auth


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "..", "/etc/shadow", "a/b.txt", "a\\b.txt", "evil\x00.txt",
    "line\nbreak.txt", "bell\x07.txt", "esc\x1b[31m.txt", "rtl\u202egnp.exe", "", ".",
])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(CustodyError):
        safe_file_name(name)


@pytest.mark.parametrize("email", [
    "dc.j\u043enes@tvp.police.example",  # Cyrillic o
    "dc.jones@tvp.p\u043elice.example",
    "dc.jones@xn--tvp-police.example\u200b",  # zero-width space
    "\uff44\uff43.jones@tvp.police.example",  # fullwidth letters
    "dc.jones@tvp.police.example\nbcc@evil.example",  # header injection
])
def test_lookalike_addresses_are_refused(email: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_email(email)


def test_oversize_json_body_is_413(w: InProcess) -> None:
    body = b'{"urn": "' + b"A" * (w.settings.max_json_bytes + 10) + b'"}'
    response = w.client.post("/api/v1/cases", content=body,
                             headers={**_auth(w), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"  # the code says which refusal
    assert response.headers["x-content-type-options"] == "nosniff"


def test_oversize_chunked_body_is_413(w: InProcess) -> None:
    # No Content-Length: counted as it comes, past the limit by a few chunks.
    chunks = (b"[" + b"1," * 1000 for _ in range(w.settings.max_json_bytes // 2001 + 5))
    response = w.client.post("/api/v1/cases", content=chunks,
                             headers={**_auth(w), "Content-Type": "application/json"})
    assert response.status_code == 413


def test_oversize_headers_are_431(w: InProcess) -> None:
    assert w.client.get("/healthz", headers={"X-Junk": "x" * 9000}).status_code == 431
    many = {f"X-Junk-{i}": "y" * 4000 for i in range(10)}
    assert w.client.get("/healthz", headers=many).status_code == 431


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # deep nesting
    b'{"urn": "47XX1", ' + b'"k": 1, ' * 50_000 + b'"z": 2}',  # many (duplicate) keys
    b'{"urn": 1e999999}',
    b'{"urn": "\\ud800"}',  # a lone surrogate
    b"\xff\xfe{}",
    b'{"urn": "47XX1234567", "extra": {"a": [[[[[[[[[[]]]]]]]]]]}}',
])
def test_json_bombs_are_clear_400s(w: InProcess, body: bytes) -> None:
    response = w.client.post("/api/v1/cases", content=body,
                             headers={**_auth(w), "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"


def _draft_item(w: InProcess) -> str:
    prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
    officer = w.members["officer"]
    w.register_keys(officer)
    w.register_keys(prosecutor)
    return w.transfer(officer, CPS, "47TV0000009", send=False)["upload"]


@pytest.mark.parametrize(("headers", "status"), [
    ({"Upload-Length": "-1"}, 400),
    ({"Upload-Length": "12abc"}, 400),
    ({"Upload-Length": "1" * 40}, 400),
    ({"Upload-Length": "10", "Upload-Metadata": "item !!!notbase64"}, 400),
    ({"Upload-Length": "10", "Upload-Metadata": "item " + base64.b64encode(b"\xff").decode()},
     400),
    ({"Upload-Length": "10"}, 400),
])
def test_malformed_tus_creation(w: InProcess, headers: dict[str, str], status: int) -> None:
    response = w.client.post("/api/v1/uploads", headers={**_auth(w), **TUS, **headers})
    assert response.status_code == status, response.text


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 415),
    ({"Content-Type": "application/offset+octet-stream"}, 400),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "-5"}, 400),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "7"}, 409),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
      "Upload-Checksum": "md5 AAAA"}, 400),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
      "Upload-Checksum": "sha256 ***"}, 400),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
      "Upload-Checksum": "sha256 " + base64.b64encode(b"x" * 32).decode()}, 460),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
      "Upload-Checksum": "crc32c ***"}, 400),
    ({"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
      "Upload-Checksum": "crc32c " + base64.b64encode(b"xxxx").decode()}, 460),
])
def test_malformed_tus_patch(w: InProcess, headers: dict[str, str], status: int) -> None:
    upload = _draft_item(w)
    response = w.client.patch(f"/api/v1/uploads/{upload}", content=b"hello",
                              headers={**_auth(w), **TUS, **headers})
    assert response.status_code == status, response.text


def test_tus_patch_beyond_upload_length_is_refused(w: InProcess) -> None:
    upload = _draft_item(w)  # declared length: 64 bytes
    response = w.client.patch(f"/api/v1/uploads/{upload}", content=b"x" * 65, headers={
        **_auth(w), **TUS, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0"})
    assert response.status_code == 400, response.text
    head = w.client.head(f"/api/v1/uploads/{upload}", headers={**_auth(w), **TUS})
    assert head.headers["Upload-Offset"] == "0"


def test_tus_without_version_is_412(w: InProcess) -> None:
    response = w.client.post("/api/v1/uploads", headers={**_auth(w), "Upload-Length": "1"})
    assert response.status_code == 412

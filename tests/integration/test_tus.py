"""The tus 1.0.0 endpoint, spoken raw over HTTP: core, creation, termination, checksum.

https://tus.io/protocols/resumable-upload. The token comes from a logged-in person's
``session.json``; items are made through the JSON API like the CLI makes them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import google_crc32c
import httpx
import pytest

from support.server import People, Server, new_case
from support.world import CPS

TUS = {"Tus-Resumable": "1.0.0"}
SIZE = 100_000


@dataclass
class Upload:
    item: str
    transfer: str
    url: str


@pytest.fixture(scope="module")
def officer_api(people: People) -> Iterator[httpx.Client]:
    with people.officer.api() as api:
        yield api


@pytest.fixture(scope="module")
def draft(people: People, officer_api: httpx.Client) -> str:
    urn = new_case(people.officer)
    created = officer_api.post("/api/v1/transfers", json={"case": urn, "to": [CPS]})
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "draft"
    return str(created.json()["id"])


def _item(api: httpx.Client, transfer: str, size: int = SIZE) -> str:
    response = api.post(f"/api/v1/transfers/{transfer}/items", json={"ciphertext_size": size})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _metadata(item: str) -> str:
    return f"item {base64.b64encode(item.encode()).decode()}"


def _create(api: httpx.Client, transfer: str, size: int = SIZE) -> Upload:
    item = _item(api, transfer, size)
    response = api.post("/api/v1/uploads", headers={
        **TUS, "Upload-Length": str(size), "Upload-Metadata": _metadata(item)})
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Upload-Offset"] == "0"
    location = response.headers["Location"]
    assert location.startswith("/api/v1/uploads/")
    return Upload(item, transfer, location)


def _offset(api: httpx.Client, upload: Upload) -> int:
    response = api.head(upload.url, headers=TUS)
    assert response.status_code == 200, response.status_code
    assert response.headers["Upload-Length"] == str(SIZE)
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def _patch(api: httpx.Client, upload: Upload, offset: int, body: bytes, *,
           checksum: str | None = None, content_type: str = "application/offset+octet-stream",
           tus: bool = True) -> httpx.Response:
    headers = {"Upload-Offset": str(offset), "Content-Type": content_type}
    if tus:
        headers.update(TUS)
    if checksum is None:
        checksum = f"sha256 {base64.b64encode(hashlib.sha256(body).digest()).decode()}"
    if checksum:
        headers["Upload-Checksum"] = checksum
    return api.patch(upload.url, content=body, headers=headers)


def test_options_advertises_the_protocol(server: Server) -> None:
    response = httpx.options(f"{server.url}/api/v1/uploads", timeout=10)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) >= {"creation", "termination",
                                                                 "checksum"}
    assert {"sha256", "crc32c"} <= set(response.headers["Tus-Checksum-Algorithm"].split(","))
    assert int(response.headers["Tus-Max-Size"]) > 0


def test_creation_needs_tus_resumable_and_a_valid_item(officer_api: httpx.Client,
                                                       draft: str) -> None:
    item = _item(officer_api, draft)
    headers = {"Upload-Length": str(SIZE), "Upload-Metadata": _metadata(item)}
    missing = officer_api.post("/api/v1/uploads", headers=headers)
    assert missing.status_code == 412
    assert missing.headers["Tus-Version"] == "1.0.0"
    old = officer_api.post("/api/v1/uploads", headers={**headers, "Tus-Resumable": "0.2.2"})
    assert old.status_code == 412
    wrong_length = officer_api.post("/api/v1/uploads", headers={
        **TUS, "Upload-Length": str(SIZE + 1), "Upload-Metadata": _metadata(item)})
    assert wrong_length.status_code == 400
    deferred = officer_api.post("/api/v1/uploads", headers={
        **TUS, "Upload-Defer-Length": "1", "Upload-Metadata": _metadata(item)})
    assert deferred.status_code == 400
    no_item = officer_api.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(SIZE)})
    assert no_item.status_code == 400
    unknown = officer_api.post("/api/v1/uploads", headers={
        **TUS, "Upload-Length": str(SIZE), "Upload-Metadata": _metadata("no-such-item")})
    assert unknown.status_code == 404
    first = officer_api.post("/api/v1/uploads", headers={**headers, **TUS})
    assert first.status_code == 201
    # Asked again (the answer was lost), the same upload, at what it holds: never a second.
    again = officer_api.post("/api/v1/uploads", headers={**headers, **TUS})
    assert again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Upload-Offset"] == "0"


def test_upload_in_pieces_with_checks(server: Server, people: People,
                                      officer_api: httpx.Client, draft: str) -> None:
    upload = _create(officer_api, draft)
    assert _offset(officer_api, upload) == 0
    data = os.urandom(SIZE)

    wrong_type = _patch(officer_api, upload, 0, data[:10], content_type="application/octet-stream")
    assert wrong_type.status_code == 415
    no_tus = _patch(officer_api, upload, 0, data[:10], tus=False)
    assert no_tus.status_code == 412
    ahead = _patch(officer_api, upload, 5, data[5:10])
    assert ahead.status_code == 409
    assert ahead.headers["Upload-Offset"] == "0"
    assert _offset(officer_api, upload) == 0

    first = _patch(officer_api, upload, 0, data[:30_000])
    assert first.status_code == 204, first.text
    assert first.headers["Upload-Offset"] == "30000"
    assert _offset(officer_api, upload) == 30_000

    bad_sum = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    corrupted = _patch(officer_api, upload, 30_000, data[30_000:60_000],
                       checksum=f"sha256 {bad_sum}")
    assert corrupted.status_code == 460
    assert corrupted.headers["Upload-Offset"] == "30000"
    assert _offset(officer_api, upload) == 30_000
    unknown_algorithm = _patch(officer_api, upload, 30_000, data[30_000:60_000],
                               checksum="md5 AAAA")
    assert unknown_algorithm.status_code == 400
    assert _offset(officer_api, upload) == 30_000
    behind = _patch(officer_api, upload, 10_000, data[10_000:20_000])
    assert behind.status_code == 409
    assert behind.headers["Upload-Offset"] == "30000"

    too_much = _patch(officer_api, upload, 30_000, data[30_000:] + b"extra")
    assert too_much.status_code == 400
    assert _offset(officer_api, upload) == 30_000

    sha1 = base64.b64encode(hashlib.sha1(data[30_000:60_000]).digest()).decode()  # noqa: S324
    second = _patch(officer_api, upload, 30_000, data[30_000:60_000], checksum=f"sha1 {sha1}")
    assert second.status_code == 204
    third = _patch(officer_api, upload, 60_000, data[60_000:], checksum="")
    assert third.status_code == 204
    assert third.headers["Upload-Offset"] == str(SIZE)
    assert _offset(officer_api, upload) == SIZE

    # Complete: published under the item, recorded, and closed for more bytes.
    assert (server.blobs / upload.item).read_bytes() == data
    assert not list(server.staging.glob(f"{upload.url.rsplit('/', 1)[1]}.*"))
    items = officer_api.get(f"/api/v1/transfers/{draft}").json()["items"]
    mine = next(i for i in items if i["id"] == upload.item)
    assert mine["state"] == "uploaded"
    assert mine["ciphertext_sha256"] == hashlib.sha256(data).hexdigest()
    uploaded = [r for r in people.officer.history(upload.item) if r["type"] == "item:uploaded"]
    digest = hashlib.sha256(data).hexdigest()
    assert [r["data"] for r in uploaded] == [{"ciphertext_size": SIZE,
                                              "ciphertext_sha256": digest}]
    after = _patch(officer_api, upload, SIZE, b"x")
    assert after.status_code == 409
    assert officer_api.delete(upload.url, headers=TUS).status_code == 409


def test_crc32c_checksum_is_checked_like_sha256(server: Server, officer_api: httpx.Client,
                                                 draft: str) -> None:
    """The CLI's checksum: CRC-32C (Castagnoli), its 4 bytes big-endian in base64. The check
    value of "123456789" is 0xE3069283 (RFC 3720, B.4)."""
    upload = _create(officer_api, draft)
    vector = _patch(officer_api, upload, 0, b"123456789", checksum="crc32c 4waSgw==")
    assert vector.status_code == 204, vector.text
    assert vector.headers["Upload-Offset"] == "9"

    data = os.urandom(30_000)
    little_endian = _patch(officer_api, upload, 9, b"123456789", checksum="crc32c g5IG4w==")
    assert little_endian.status_code == 460
    assert little_endian.headers["Upload-Offset"] == "9"
    wrong = _patch(officer_api, upload, 9, data, checksum="crc32c 4waSgw==")
    assert wrong.status_code == 460
    assert wrong.headers["Upload-Offset"] == "9"
    assert _offset(officer_api, upload) == 9
    upload_id = upload.url.rsplit("/", 1)[1]
    assert (server.staging / f"{upload_id}.part").stat().st_size == 9
    not_base64 = _patch(officer_api, upload, 9, data, checksum="crc32c ***")
    assert not_base64.status_code == 400

    right = base64.b64encode(google_crc32c.Checksum(data).digest()).decode()
    kept = _patch(officer_api, upload, 9, data, checksum=f"crc32c {right}")
    assert kept.status_code == 204, kept.text
    assert kept.headers["Upload-Offset"] == str(9 + len(data))
    assert (server.staging / f"{upload_id}.part").read_bytes() == b"123456789" + data


def test_termination(server: Server, officer_api: httpx.Client, draft: str) -> None:
    upload = _create(officer_api, draft)
    assert _patch(officer_api, upload, 0, b"a" * 1000).status_code == 204
    upload_id = upload.url.rsplit("/", 1)[1]
    assert (server.staging / f"{upload_id}.part").stat().st_size == 1000
    assert officer_api.delete(upload.url).status_code == 412
    gone = officer_api.delete(upload.url, headers=TUS)
    assert gone.status_code == 204
    assert officer_api.head(upload.url, headers=TUS).status_code == 404
    assert _patch(officer_api, upload, 1000, b"b").status_code == 404
    assert not list(server.staging.glob(f"{upload_id}.*"))
    # The item can take a new upload after the old one was terminated.
    fresh = officer_api.post("/api/v1/uploads", headers={
        **TUS, "Upload-Length": str(SIZE), "Upload-Metadata": _metadata(upload.item)})
    assert fresh.status_code == 201
    assert fresh.headers["Location"] != upload.url


def test_another_users_upload_is_invisible(people: People, officer_api: httpx.Client,
                                           draft: str) -> None:
    upload = _create(officer_api, draft)
    assert _patch(officer_api, upload, 0, b"z" * 500).status_code == 204
    for person in (people.prosecutor, people.outsider):
        with person.api() as other:
            assert other.head(upload.url, headers=TUS).status_code == 404
            assert _patch(other, upload, 500, b"evil").status_code == 404
            assert other.delete(upload.url, headers=TUS).status_code == 404
            # Nor may they start an upload for the officer's item.
            stolen = other.post("/api/v1/uploads", headers={
                **TUS, "Upload-Length": str(SIZE), "Upload-Metadata": _metadata(upload.item)})
            assert stolen.status_code == 404
    assert _offset(officer_api, upload) == 500


def test_no_token_is_401(server: Server, officer_api: httpx.Client, draft: str) -> None:
    upload = _create(officer_api, draft)
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        assert anonymous.head(upload.url, headers=TUS).status_code == 401
        assert _patch(anonymous, upload, 0, b"x").status_code == 401
        assert anonymous.delete(upload.url, headers=TUS).status_code == 401
        created = anonymous.post("/api/v1/uploads", headers={
            **TUS, "Upload-Length": str(SIZE), "Upload-Metadata": _metadata(upload.item)})
        assert created.status_code == 401
        assert created.headers["WWW-Authenticate"] == "Bearer"
        forged = anonymous.head(upload.url, headers={**TUS, "Authorization": "Bearer cst_forged"})
        assert forged.status_code == 401
    assert _offset(officer_api, upload) == 0

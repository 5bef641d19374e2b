"""An upload published by a node that died before its transaction committed (issue 15).

Publishing moves the staged upload to the item's key (a rename, or an S3 multipart upload
completed and its record deleted); the hash, the item's state and the ``item:uploaded`` entry
commit after it. A node killed in between (``upload.after_publish``, run for real by
test_fault_points.py on the embedded stack) leaves a whole blob and no staged upload. Here,
in process, on both databases and both kinds of store: the next node answers the upload as
complete, publishes nothing twice, and records the blob's own SHA-256 once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from custody.errors import NotFound
from custody.services import cases, transfers, uploads
from custody.services import items as item_service
from custody.services.context import ServiceContext
from custody.store.blobs import BlobStore, FilesystemBlobStore
from custody.store.models import Item
from custody.store.s3 import S3BlobStore, S3Config, make_client
from support.world import CPS, Cast, new_urn

pytestmark = [pytest.mark.faults]
SIZE = 70_000


@pytest.fixture(params=["files", "s3-moto"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "files":
        yield FilesystemBlobStore(tmp_path / "blobs")
        return
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        client = make_client(S3Config(region="us-east-1", access_key_id="k",
                                      secret_access_key="s"))  # noqa: S106 - moto's
        client.create_bucket(Bucket="custody")
        yield S3BlobStore(client, "custody", "node")


def _staged_item(ctx: ServiceContext, cast: Cast, data: bytes) -> tuple[str, str]:
    """An item whose every byte is staged; its id and its upload's."""
    urn = new_urn()
    cases.create_case(ctx, cast.officer, urn)
    transfer = transfers.create_transfer(ctx, cast.officer, urn, [CPS], None)
    item = item_service.add_item(ctx, cast.officer, transfer.id, len(data))
    upload = uploads.create(ctx, cast.officer, item.id, len(data))
    assert uploads.append(ctx, cast.officer, upload.id, 0, [data]) == len(data)
    return item.id, upload.id


def test_the_next_node_finishes_an_upload_published_but_not_recorded(
    cast: Cast, store: BlobStore
) -> None:
    ctx = replace(cast.ctx, blobs=store)
    data = os.urandom(SIZE)
    item, upload = _staged_item(ctx, cast, data)
    store.finish_upload(upload, f"items/{item}")  # published; the node dies before commit

    # The sender asks again for its upload (a new `custody send`), then where it stands.
    again = uploads.create(ctx, cast.officer, item, SIZE)
    assert (again.id, again.offset, again.complete) == (upload, SIZE, False)
    assert uploads.status(ctx, cast.officer, upload).offset == SIZE
    uploads.finish(ctx, cast.officer, upload)  # what the HEAD or the empty PATCH does

    done = uploads.status(ctx, cast.officer, upload)
    assert (done.offset, done.complete) == (SIZE, True)
    shown = transfers.view(ctx, cast.officer, _transfer_of(cast, item)).items[0]
    assert shown.state == "uploaded"
    assert shown.ciphertext_sha256 == hashlib.sha256(data).hexdigest()
    entries = [e for e in cast.world.entries("item:uploaded") if e.item == item]
    assert len(entries) == 1
    assert entries[0].data["ciphertext_sha256"] == hashlib.sha256(data).hexdigest()
    assert b"".join(store.read(f"items/{item}")) == data  # the one blob, untouched
    with pytest.raises(NotFound):
        store.upload_offset(upload)  # nothing left staged


def test_a_staged_upload_gone_with_nothing_published_is_not_taken_as_complete(
    cast: Cast, store: BlobStore
) -> None:
    ctx = replace(cast.ctx, blobs=store)
    item, upload = _staged_item(ctx, cast, os.urandom(SIZE))
    store.abort_upload(upload)  # the staged bytes lost, no blob at the item's key
    with pytest.raises(NotFound):
        uploads.status(ctx, cast.officer, upload)
    with pytest.raises(NotFound):
        uploads.finish(ctx, cast.officer, upload)
    assert not [e for e in cast.world.entries("item:uploaded") if e.item == item]


def _transfer_of(cast: Cast, item: str) -> str:
    with cast.ctx.sessions() as session:
        return session.get_one(Item, item).transfer_id

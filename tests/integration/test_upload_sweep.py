"""Abandoned uploads are swept (issue 13): an upload neither finished nor terminated
CUSTODY_UPLOAD_ABANDON_DAYS after it began is aborted by the watcher — on files its staged
bytes removed, on Swift's S3 its multipart upload aborted and its record and tail deleted —
once, with an ``upload:abandoned`` security event; a younger one is left alone, and the
item takes a new upload afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from custody.clock import FixedClock
from custody.services import cases, transfers, uploads
from custody.services import items as item_service
from custody.services.watcher import abort_abandoned_uploads
from support.databases import fresh_postgres
from support.server import StoredBlobs
from support.swift import Swift
from support.world import CPS, T0, Cast, World, new_urn, world_settings

MIB = 1024 * 1024


@pytest.fixture(params=["files", pytest.param("swift", marks=[pytest.mark.postgres,
                                                               pytest.mark.swift])])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Cast, StoredBlobs]]:
    """A cast on SQLite and blob files, or on PostgreSQL and a fresh bucket of Swift."""
    data_dir = tmp_path / "data"
    if request.param == "files":
        settings = world_settings(data_dir, f"sqlite:///{tmp_path / 'custody.db'}")
        stored = StoredBlobs(data_dir)
        made = World.create(settings, FixedClock(T0))
        try:
            yield Cast.build(made), stored
        finally:
            made.close()
        return
    swift: Swift = request.getfixturevalue("swift")
    bucket = swift.new_bucket()
    with fresh_postgres("custody_sweep") as db_url:
        settings = world_settings(data_dir, db_url, **swift.settings(bucket),
                                  s3_part_size_mib=5)
        made = World.create(settings, FixedClock(T0))
        try:
            yield Cast.build(made), StoredBlobs(data_dir, swift, bucket)
        finally:
            made.close()


def _started_upload(w: Cast, size: int, sent: int) -> tuple[str, str]:
    """A draft's item whose upload holds ``sent`` of its ``size`` bytes; (item, upload)."""
    urn = new_urn()
    cases.create_case(w.ctx, w.officer, urn)
    transfer = transfers.create_transfer(w.ctx, w.officer, urn, [CPS], None)
    item = item_service.add_item(w.ctx, w.officer, transfer.id, size)
    upload = uploads.create(w.ctx, w.officer, item.id, size)
    uploads.append(w.ctx, w.officer, upload.id, 0, [os.urandom(sent)])
    return item.id, upload.id


def test_an_abandoned_upload_is_aborted_once(stack: tuple[Cast, StoredBlobs]) -> None:
    w, stored = stack
    old_item, old = _started_upload(w, 12 * MIB, 7 * MIB)  # a part and a tail on S3
    w.clock.advance(timedelta(days=10))
    _, young = _started_upload(w, 2 * MIB, MIB)
    assert set(stored.staged()) == {old, young}

    w.clock.advance(timedelta(days=4, seconds=1))  # the first is 14 days old, the second 4
    assert abort_abandoned_uploads(w.ctx) == 1
    assert abort_abandoned_uploads(w.ctx) == 0  # another node's pass finds nothing to do
    assert set(stored.staged()) == {young}
    if stored.swift is not None:  # the multipart upload is gone, and its tail with it
        client = stored.swift.client()
        multipart = client.list_multipart_uploads(Bucket=stored.bucket).get("Uploads", [])
        assert len(multipart) == 1
        left = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=stored.bucket) for o in page.get("Contents", [])]
        assert not [key for key in left if old in key], left
    with w.ctx.unit_of_work() as session:
        rows = session.execute(text("SELECT id FROM uploads")).scalars().all()
        events = session.execute(text(
            "SELECT user_id, org_id, detail FROM security_events "
            "WHERE type = 'upload:abandoned'")).all()
    assert rows == [young]
    assert len(events) == 1
    assert events[0][0] == w.officer.user_id
    assert events[0][1] == w.police_org
    assert f"upload {old} of item {old_item} aborted 14 days" in events[0][2]

    again = uploads.create(w.ctx, w.officer, old_item, 12 * MIB)  # the sender starts again
    assert again.id != old
    assert again.offset == 0


def test_a_blob_published_but_never_recorded_goes_with_its_abandoned_upload(
    stack: tuple[Cast, StoredBlobs],
) -> None:
    """A node published an upload's blob and died before recording it, and the sender never
    came back to resume: when the upload is swept, the unrecorded blob goes with it."""
    w, stored = stack
    item, upload = _started_upload(w, 6 * MIB, 6 * MIB)  # every byte staged
    w.ctx.blobs.finish_upload(upload, f"items/{item}")  # published; the node died here
    assert stored.exists(item)
    w.clock.advance(timedelta(days=14, seconds=1))
    assert abort_abandoned_uploads(w.ctx) == 1
    assert not stored.exists(item)
    assert upload not in stored.staged()
    assert uploads.create(w.ctx, w.officer, item, 6 * MIB).offset == 0  # a fresh start

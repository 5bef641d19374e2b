"""Scrubbing finds a changed and a deleted ciphertext, names both items, records the run and
each failure in the ledger, and `custody admin scrub` exits 8 until they are restored."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from custody.cli.main import main
from custody.services import schedule, scrub
from custody.store.blobs import FilesystemBlobStore
from custody.store.models import Item
from support.world import Cast


def _stored_items(cast: Cast, count: int) -> dict[str, bytes]:
    """``count`` sent items whose ciphertext is really in the blob store, as an upload leaves
    it: its size and SHA-256 recorded."""
    tid = cast.transfer(items=count)
    stored = {}
    with cast.ctx.unit_of_work() as session:
        ids = list(session.scalars(select(Item.id).where(Item.transfer_id == tid)))
    for item_id in ids:
        data, key, upload = os.urandom(3000), f"items/{item_id}", f"up-{item_id}"
        cast.ctx.blobs.create_upload(upload, len(data), key)
        cast.ctx.blobs.append(upload, 0, [data])
        cast.ctx.blobs.finish_upload(upload, key)
        with cast.ctx.unit_of_work() as session:
            row = session.get_one(Item, item_id)
            row.blob_key, row.ciphertext_size = key, len(data)
            row.ciphertext_sha256 = hashlib.sha256(data).hexdigest()
        stored[item_id] = data
    return stored


def test_a_changed_byte_and_a_deleted_blob_are_named_and_recorded(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _stored_items(cast, 3)
    clean = scrub.scrub(cast.ctx, "operator test")
    assert clean.ok
    assert clean.checked >= 3  # and the cast's other items, which hold no blob, are not
    changed, deleted, _ = sorted(stored)
    blobs = cast.ctx.blobs
    assert isinstance(blobs, FilesystemBlobStore)
    path = blobs._path(f"items/{changed}")  # what bit rot, or someone at the disk, does
    damaged = bytearray(path.read_bytes())
    damaged[1234] ^= 0x01
    path.write_bytes(bytes(damaged))
    blobs.delete(f"items/{deleted}")

    report = scrub.scrub(cast.ctx, "operator test")
    assert {(f.item, f.problem) for f in report.findings} == {
        (changed, "sha256"), (deleted, "missing")}
    failed = cast.world.entries("item:scrub_failed")
    assert {(e.item, e.data["problem"]) for e in failed} == {
        (changed, "sha256"), (deleted, "missing")}
    run = cast.world.entries("blobs:scrubbed")[-1]
    assert run.data["failed"] == {"missing": 1, "sha256": 1}
    assert run.data["items"] == sorted([changed, deleted])
    assert run.data["checked"] == report.checked

    # The operator's command, on the same database and store: exit 8, both named.
    monkeypatch.setenv("CUSTODY_DATABASE_URL", db_url)
    monkeypatch.setenv("CUSTODY_DATA_DIR", str(cast.ctx.settings.data_dir))
    monkeypatch.setenv("CUSTODY_BLOB_URL", cast.ctx.settings.effective_blob_url)
    monkeypatch.setenv("CUSTODY_SECRET_KEY", "an operator's server secret, long enough")
    assert main(["admin", "scrub"]) == 8
    said = capsys.readouterr()
    assert f"item {changed}: sha256" in said.out
    assert f"item {deleted}: missing" in said.out
    assert "2 stored item(s) are missing or changed" in said.err

    path.write_bytes(stored[changed])  # restored from a backup
    blobs.create_upload(f"re-{deleted}", 3000, f"items/{deleted}")
    blobs.append(f"re-{deleted}", 0, [stored[deleted]])
    blobs.finish_upload(f"re-{deleted}", f"items/{deleted}")
    assert main(["admin", "scrub"]) == 0
    assert "Scrubbed" in capsys.readouterr().out


def test_the_scheduled_scrub_runs_when_due_on_one_node_only_and_finds_rot(cast: Cast) -> None:
    """CUSTODY_SCRUB_EVERY_HOURS: the first check schedules the first scrub an interval later;
    once due, of two nodes checking, one runs it (the other finds the lease taken); the next
    is due an interval after it finished; a node that died holding the lease holds nothing
    once it runs out."""
    stored = _stored_items(cast, 2)
    ctx = replace(cast.ctx, settings=cast.ctx.settings.model_copy(
        update={"scrub_every_hours": 24.0}))
    runs = lambda: len(cast.world.entries("blobs:scrubbed"))  # noqa: E731
    assert scrub.run_if_due(ctx, "node-a") is None  # scheduled, not run
    cast.clock.advance(timedelta(hours=23))
    assert scrub.run_if_due(ctx, "node-a") is None
    assert runs() == 0

    rotten = sorted(stored)[0]
    blobs = cast.ctx.blobs
    assert isinstance(blobs, FilesystemBlobStore)
    blobs.delete(f"items/{rotten}")
    cast.clock.advance(timedelta(hours=1))
    # Node b holds the lease (it is mid-scrub): node a's check finds it taken.
    assert schedule.claim(ctx, scrub.JOB, "node-b", first_due=cast.clock.now(),
                          lease=scrub.LEASE)
    assert scrub.run_if_due(ctx, "node-a") is None
    # Node b dies without letting go; once the lease ran out, node a runs the scrub.
    cast.clock.advance(scrub.LEASE + timedelta(seconds=1))
    report = scrub.run_if_due(ctx, "node-a")
    assert report is not None
    assert [(f.item, f.problem) for f in report.findings] == [(rotten, "missing")]
    assert runs() == 1
    run = cast.world.entries("blobs:scrubbed")[-1]
    assert (run.actor, run.data["items"]) == ("system", [rotten])
    assert not schedule.renew(ctx, scrub.JOB, "node-b", scrub.LEASE)  # b lost it for good

    assert scrub.run_if_due(ctx, "node-b") is None  # the next is a day away
    cast.clock.advance(timedelta(hours=24))
    assert scrub.run_if_due(ctx, "node-b") is not None
    assert runs() == 2


def test_no_scheduled_scrub_when_the_interval_is_zero(cast: Cast) -> None:
    _stored_items(cast, 1)
    assert cast.ctx.settings.scrub_every_hours == 0  # the test worlds' setting
    cast.clock.advance(timedelta(days=400))
    assert scrub.run_if_due(cast.ctx, "node-a") is None
    assert cast.world.entries("blobs:scrubbed") == []

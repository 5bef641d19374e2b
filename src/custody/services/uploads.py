"""Resumable uploads of item ciphertext (the storage side of tus 1.0)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody import faults
from custody.domain.items import ItemState
from custody.domain.transfers import TransferState
from custody.errors import Conflict, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record_item
from custody.store.blobs import BlobInfo, hash_stream
from custody.store.models import Item, Upload


@dataclass(frozen=True)
class UploadStatus:
    id: str
    offset: int
    length: int
    complete: bool


def _blob_key(item_id: str) -> str:
    """Where an item's ciphertext is published (named when its upload is created)."""
    return f"items/{item_id}"


def _own_upload(session: Session, actor: Actor, upload_id: str) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.user_id != actor.user_id:
        raise NotFound(f"no upload {upload_id}")
    return upload


def create(ctx: ServiceContext, actor: Actor, item_id: str, length: int) -> UploadStatus:
    """A tus upload of the item's ciphertext; asked again, the same unfinished upload.

    The upload's row commits first, then the blob store stages it: a process killed between
    the two leaves a row with nothing staged, which the sender's next ``create`` (the same
    command run again) stages, or the abandoned-upload sweep removes; never bytes staged
    that no row knows of."""
    with ctx.unit_of_work() as session:
        item = session.get(Item, item_id)
        if item is None or item.transfer.sender_id != actor.user_id:
            raise NotFound(f"no item {item_id} of yours")
        if item.transfer.state != TransferState.DRAFT or item.state != ItemState.UPLOADING:
            raise Conflict(f"item {item_id} takes no more uploads")
        if length != item.ciphertext_size:
            raise InvalidInput(
                f"Upload-Length must be the item's ciphertext size, {item.ciphertext_size}"
            )
        existing = session.scalar(select(Upload).where(Upload.item_id == item_id))
        if existing is not None:
            # The sender lost the answer that named it (a dropped connection, a refused
            # Location): the same upload again, with what it holds, so nothing is stranded.
            if existing.finished_at is not None:
                raise Conflict(f"item {item_id} is uploaded already")
            try:
                offset = _offset(ctx, existing)
            except NotFound:
                upload_id = existing.id  # its row committed, nothing staged: staged below
            else:
                return UploadStatus(existing.id, offset, existing.length, complete=False)
        else:
            upload = Upload(
                id=secrets.token_hex(16),
                item_id=item_id,
                user_id=actor.user_id,
                length=length,
                created_at=ctx.clock.now(),
            )
            session.add(upload)
            item.upload_id = upload_id = upload.id
    faults.point("upload.before_staging")
    ctx.blobs.create_upload(upload_id, length, _blob_key(item_id))
    return UploadStatus(upload_id, 0, length, complete=False)


def discard_unrecorded(ctx: ServiceContext, item_id: str) -> None:
    """Delete a blob published at the item's key whose upload was never recorded (its node
    died between the two and the sender never came back): after its upload is aborted."""
    ctx.blobs.delete(_blob_key(item_id))


def status(ctx: ServiceContext, actor: Actor, upload_id: str) -> UploadStatus:
    with ctx.unit_of_work() as session:
        upload = _own_upload(session, actor, upload_id)
        if upload.finished_at is not None:
            return UploadStatus(upload.id, upload.length, upload.length, complete=True)
        offset = _offset(ctx, upload)
        return UploadStatus(upload.id, offset, upload.length, complete=False)


def _offset(ctx: ServiceContext, upload: Upload) -> int:
    """Where an unfinished upload stands; all of it if its blob was published by a node that
    died before recording it (the staged upload is gone, the published blob is whole)."""
    try:
        return ctx.blobs.upload_offset(upload.id)
    except NotFound:
        if _published(ctx, upload) is None:
            raise
        return upload.length


def _published(ctx: ServiceContext, upload: Upload) -> str | None:
    """The blob key of ``upload``'s item if a blob of the upload's length is published there."""
    key = _blob_key(upload.item_id)
    try:
        size = ctx.blobs.size(key)
    except NotFound:
        return None
    return key if size == upload.length else None


def append(
    ctx: ServiceContext, actor: Actor, upload_id: str, offset: int, chunks: Iterable[bytes]
) -> int:
    """Write bytes at ``offset``; authorisation is checked before a byte is stored.

    On PostgreSQL — where several nodes serve one service — the upload's row stays locked
    while the bytes are written, so two requests for one upload take turns and the second
    finds the offset moved (409) instead of writing over the first. SQLite serves one
    node, and would lock the whole database for the write: there it is not held.
    """
    with ctx.unit_of_work() as session:
        upload = _own_upload(session, actor, upload_id)
        if upload.finished_at is not None:
            raise Conflict("this upload is complete")
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(Upload.id).where(Upload.id == upload_id).with_for_update())
            return ctx.blobs.append(upload_id, offset, chunks)
    return ctx.blobs.append(upload_id, offset, chunks)


def finish(ctx: ServiceContext, actor: Actor, upload_id: str) -> None:
    """Publish a complete upload as the item's blob and record it in the ledger."""
    with ctx.unit_of_work() as session:
        upload = _own_upload(session, actor, upload_id)
        item = session.get_one(Item, upload.item_id)
        key = _blob_key(item.id)
        faults.point("upload.before_publish")
        info = _publish(ctx, upload, key)
        faults.point("upload.after_publish")
        upload.finished_at = ctx.clock.now()
        item.state = ItemState.UPLOADED
        item.blob_key = key
        item.ciphertext_sha256 = info.sha256
        record_item(
            ctx,
            session,
            EntryType.ITEM_UPLOADED,
            actor,
            item,
            data={"ciphertext_size": info.size, "ciphertext_sha256": info.sha256},
        )


def _publish(ctx: ServiceContext, upload: Upload, key: str) -> BlobInfo:
    """Publish the staged upload under ``key``: or, if a node published it and died before
    its transaction committed, take the blob it left (hashed by reading it back) and clear
    what is left of the staged upload."""
    try:
        return ctx.blobs.finish_upload(upload.id, key)
    except NotFound:
        if _published(ctx, upload) != key:
            raise
    ctx.blobs.abort_upload(upload.id)
    return BlobInfo(size=upload.length, sha256=hash_stream(ctx.blobs.read(key)))


def terminate(ctx: ServiceContext, actor: Actor, upload_id: str) -> None:
    with ctx.unit_of_work() as session:
        upload = _own_upload(session, actor, upload_id)
        if upload.finished_at is not None:
            raise Conflict("this upload is complete and cannot be terminated")
        item = session.get_one(Item, upload.item_id)
        item.upload_id = None
        session.delete(upload)
        ctx.blobs.abort_upload(upload_id)

"""Items of a transfer: added, sealed (manifest and key wraps), downloaded, receipted.

Every read goes through :func:`refusal`, which records a refused attempt in the
ledger before the caller raises it.
"""

from __future__ import annotations

import re

from custody import faults
from custody.domain.items import ItemState
from custody.errors import Conflict, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.protocol.transfers import ItemCreatedOut, SealIn
from custody.services import access, notes, notifications
from custody.services.accounts import current_key
from custody.services.context import Actor, ServiceContext, refuse
from custody.services.ledger import record_item
from custody.services.reading import Download, deliver, find_item, readable_range, refusal
from custody.services.transfers import own_draft, readers_for
from custody.store.models import (
    Item,
)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_ITEMS = 1000
MAX_SEALED_MANIFEST = 64 * 1024


def add_item(
    ctx: ServiceContext, actor: Actor, transfer_id: str, ciphertext_size: int
) -> ItemCreatedOut:
    if ciphertext_size <= 0 or ciphertext_size > ctx.settings.max_upload_bytes:
        raise InvalidInput(
            f"an item must be 1 byte to {ctx.settings.max_upload_bytes} bytes of ciphertext"
        )
    with ctx.unit_of_work() as session:
        transfer = own_draft(session, actor, transfer_id)
        if len(transfer.items) >= MAX_ITEMS:
            raise InvalidInput(f"a transfer holds at most {MAX_ITEMS} items")
        item = Item(
            transfer_id=transfer.id,
            case_id=transfer.case_id,
            position=len(transfer.items),
            state=ItemState.UPLOADING,
            ciphertext_size=ciphertext_size,
            created_at=ctx.clock.now(),
        )
        session.add(item)
        session.flush()
        record_item(
            ctx, session, EntryType.ITEM_CREATED, actor, item, {"ciphertext_size": ciphertext_size}
        )
        return ItemCreatedOut(id=item.id, position=item.position)


def seal_item(ctx: ServiceContext, actor: Actor, item_id: str, request: SealIn) -> None:
    """Store the encrypted manifest and one key wrap per reader, once the content is uploaded."""
    manifest_sha256, wraps = request.manifest_sha256, request.wraps
    if not _HEX64.fullmatch(manifest_sha256):
        raise InvalidInput("manifest_sha256 must be 64 lower-case hex digits")
    sealed = access.unbase64(request.sealed_manifest, "the sealed manifest", MAX_SEALED_MANIFEST)
    with ctx.unit_of_work() as session:
        item = session.get(Item, item_id)
        if item is None:
            raise NotFound(f"no item {item_id}")
        transfer = own_draft(session, actor, item.transfer_id)
        if item.state != ItemState.UPLOADED:
            raise Conflict(f"item {item_id} is {item.state}; upload its content before sealing it")
        readers = readers_for(session, transfer)
        wanted = {r.recipient for r in readers}
        if set(wraps) != wanted:
            missing = ", ".join(r.label for r in readers if r.recipient not in wraps)
            raise InvalidInput(
                "the key wraps do not match this transfer's readers"
                + (f"; missing: {missing}" if missing else "")
            )
        now = ctx.clock.now()
        for reader in readers:
            kind = "transfer" if reader.user_id else "recovery"
            wrap = access.unbase64(wraps[reader.recipient], "a key wrap")
            access.add_wrap(session, item, reader, wrap, kind=kind, by=actor.user_id, at=now)
        item.sealed_manifest = sealed
        item.manifest_sha256 = manifest_sha256
        item.state = ItemState.SEALED
        item.sealed_at = now
        sender_key = current_key(session, actor.user_id)
        if sender_key is None:
            raise Conflict("your keys were retired", hint="start a new transfer with your new keys")
        record_item(
            ctx,
            session,
            EntryType.ITEM_SEALED,
            actor,
            item,
            data={
                "manifest_sha256": manifest_sha256,
                "ciphertext_sha256": item.ciphertext_sha256,
                "ciphertext_size": item.ciphertext_size,
                "signing_key": sender_key.signing_key,
                "recovery": sorted(r.org_id for r in readers if r.org_id),
            },
            people_list=("readers", [r.user_id for r in readers if r.user_id]),
        )
        faults.point("seal.before_commit")


def start_download(
    ctx: ServiceContext, actor: Actor, item_id: str, start: int, end: int | None
) -> Download:
    """Authorise one (range) download; record it; the first one marks the transfer delivered.

    ``end`` is exclusive. A range outside the item is refused before anything is recorded.
    """
    with ctx.unit_of_work() as session:
        item = find_item(session, item_id)
        grant = readable_range(ctx, session, actor, item, "download", start, end)
        deliver(ctx, item, actor)
        bytes_read = {"first_byte": grant.start, "last_byte": grant.stop - 1}
        record_item(ctx, session, EntryType.ITEM_DOWNLOADED, actor, item, bytes_read)
        return grant


def record_receipt(
    ctx: ServiceContext,
    actor: Actor,
    item_id: str,
    manifest_sha256: str,
    verified: bool,
    reason: str | None,
) -> None:
    """The receiving client reports what its verification found: both outcomes are recorded."""
    with ctx.unit_of_work() as session:
        item = find_item(session, item_id)
        refused = refusal(ctx, session, actor, item, "receipt")
        if refused is not None:
            refuse(refused)
        if verified and manifest_sha256 != item.manifest_sha256:
            verified, reason = False, "manifest differs from the one sealed"
        if verified:  # before the entry: the log's head is locked from the append to commit
            notifications.transfer_received(ctx, session, item, actor)
        record_item(
            ctx,
            session,
            EntryType.ITEM_RECEIVED if verified else EntryType.ITEM_VERIFICATION_FAILED,
            actor,
            item,
            data={
                "manifest_sha256": manifest_sha256,
                # The client's words may name a file: kept beside the public log.
                **({} if verified else notes.keep(ctx, session, (reason or "")[:300])),
            },
        )

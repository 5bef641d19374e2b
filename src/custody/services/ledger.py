"""Recording to the custody ledger, signing checkpoints, reading trails and proofs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from custody import faults
from custody.errors import NotFound
from custody.ledger import people
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.services import notes
from custody.services.context import Actor, Origin, ServiceContext
from custody.store.db import lookup
from custody.store.ledger_store import Appended, LedgerStore, StoredCheckpoint
from custody.store.models import AccessRecord, Item, User

SYSTEM = "system"


def record(
    ctx: ServiceContext,
    session: Session,
    type_: EntryType,
    actor: Actor | str,
    *,
    case: str | None = None,
    transfer: str | None = None,
    item: str | None = None,
    data: Mapping[str, Any] | None = None,
    people_list: tuple[str, Sequence[str]] | None = None,
) -> Appended:
    """Append one entry in the caller's transaction; it commits with the change or not at all.

    ``people_list`` (a name such as ``recipients``, and user ids) goes into ``data`` inline, or,
    if it is too long for one entry, as a commitment to ``people:part`` entries appended just
    before this one (:mod:`custody.ledger.people`)."""
    actor_id = actor if isinstance(actor, str) else actor.user_id
    fields = dict(data or {})
    store = LedgerStore(session)
    if people_list is not None:
        name, ids = people_list[0], sorted(people_list[1])
        if people.fits_inline(ids):
            fields[name] = ids
        else:
            chunks = people.split(ids)
            parts = [
                Entry(people.PART_TYPE, ctx.clock.now(), actor_id, case, transfer, item, None,
                      people.part_data(name, number, len(chunks), chunk))
                for number, chunk in enumerate(chunks, 1)
            ]
            indexes = [a.index for a in store.append_many(parts)]
            fields[name + people.SUFFIX] = people.commitment(ids, indexes)
    entry = Entry(type_, ctx.clock.now(), actor_id, case, transfer, item, None, fields)
    appended = store.append(entry)
    faults.point("ledger.appended")
    origin = actor.origin if isinstance(actor, Actor) else Origin()
    if origin.address or origin.user_agent:  # beside the ledger: personal data, erasable
        session.add(AccessRecord(
            ledger_index=appended.index, user_id=actor_id, item_id=item, at=entry.time,
            address=origin.address, user_agent=origin.user_agent,
        ))
    return appended


def record_item(
    ctx: ServiceContext,
    session: Session,
    type_: EntryType,
    actor: Actor | str,
    item: Item,
    data: Mapping[str, Any] | None = None,
    people_list: tuple[str, Sequence[str]] | None = None,
) -> Appended:
    """Append an entry about ``item``, filed under its case and transfer."""
    return record(
        ctx,
        session,
        type_,
        actor,
        case=item.case_id,
        transfer=item.transfer_id,
        item=item.id,
        data=data,
        people_list=people_list,
    )


def record_items(
    ctx: ServiceContext,
    session: Session,
    type_: EntryType,
    actor: Actor | str,
    items: Iterable[Item],
    data: Mapping[str, Any] | None = None,
    people_list: tuple[str, Sequence[str]] | None = None,
) -> None:
    """Append one entry per item: what happens to a transfer is in each of its items' trails
    (a long ``people_list``'s parts too, before each)."""
    for item in items:
        record_item(ctx, session, type_, actor, item, data, people_list)


def publish_checkpoint(ctx: ServiceContext) -> StoredCheckpoint | None:
    """Sign a checkpoint if the log grew since the last one (refuses if history is inconsistent)."""
    if ctx.log_signer is None:
        return None
    with ctx.unit_of_work() as session:
        store = LedgerStore(session)
        store.fold_heads()  # a little at a time, so a bundle's seal_heads has little to do
        signed = store.sign_checkpoint(ctx.log_signer, ctx.origin, ctx.clock.now())
        if signed is not None:
            faults.point("checkpoint.signed")
        return signed


def latest_checkpoint(ctx: ServiceContext) -> StoredCheckpoint:
    with ctx.unit_of_work() as session:
        cp = LedgerStore(session).latest_checkpoint()
    if cp is None:
        raise NotFound("the log has no checkpoint yet", hint="try again in a few seconds")
    return cp


@dataclass(frozen=True)
class TrailEntry:
    index: int
    entry: Entry
    actor_email: str | None
    data: dict[str, Any]  # the entry's data, with the text of any reason it refers to

    @property
    def type(self) -> str:
        return self.entry.type

    @property
    def time(self) -> datetime:
        return self.entry.time

    @property
    def actor(self) -> str:
        return self.entry.actor

    @property
    def item(self) -> str | None:
        return self.entry.item

    @property
    def transfer(self) -> str | None:
        return self.entry.transfer


def describe(session: Session, rows: list[tuple[int, bytes]]) -> list[TrailEntry]:
    """Decode entries and resolve, for an authorised reader, pseudonymous actor ids to
    addresses and reason commitments to the reasons kept beside the log."""
    entries = [(index, Entry.from_bytes(body)) for index, body in rows]
    actor_ids = {e.actor for _, e in entries if e.actor != SYSTEM}
    emails = lookup(session, User.id, User.email, actor_ids)
    reasons = notes.texts(session, (e.data[notes.KEY] for _, e in entries if notes.KEY in e.data))
    return [
        TrailEntry(index, e, emails.get(e.actor), notes.resolve(e.data, reasons))
        for index, e in entries
    ]

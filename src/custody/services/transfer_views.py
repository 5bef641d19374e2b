"""Transfers as a caller may see them: frozen views (the wire models), built in a handful of
queries per page.

A view names the parties by address, carries only the caller's own key wraps, and
holds bytes as bytes (the HTTP adapter writes them as base64). Lists are pages,
newest first, with an opaque cursor (the last transfer's creation time and id), so
an inbox of tens of thousands of transfers answers as fast as one of ten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from custody.domain.cases import parse_urn
from custody.domain.transfers import AWAITING_ACK, TransferState
from custody.errors import InvalidInput
from custody.ledger.events import EntryType
from custody.protocol.transfers import ItemOut, PartyOut, TransferOut, TransferPage
from custody.services.context import Actor
from custody.services.ledger import TrailEntry
from custody.services.paging import DEFAULT_PAGE, Window, newest_first, next_cursor
from custody.store.db import lookup
from custody.store.models import Case, KeyWrap, Organisation, Transfer, Unit, User, UserKey

_ID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


def is_urn(text: str) -> bool:
    try:
        parse_urn(text)
    except InvalidInput:
        return False
    return True


@dataclass(frozen=True)
class TransferQuery:
    """What a list asks for: filters, a page size, and where the last page ended."""

    case: str | None = None
    state: str | None = None
    overdue: bool = False
    limit: int = DEFAULT_PAGE
    after: str | None = None
    org: str | None = None  # the other party's organisation, by name: sender's or recipient's
    search: str | None = None  # a case URN or a transfer id

    def __post_init__(self) -> None:
        Window(self.limit, self.after)  # the same bounds as every list
        if self.search is not None and not (is_urn(self.search) or _ID.fullmatch(self.search)):
            raise InvalidInput(
                f"{self.search[:60]!r} is neither a case URN nor a transfer id",
                hint="search by a URN such as 47XX1234567, or a transfer's whole id",
            )
        if self.state is not None and self.state not in {s.value for s in TransferState}:
            raise InvalidInput(
                f"no transfer state {self.state!r}",
                hint="one of: " + ", ".join(s.value for s in TransferState),
            )


def page(
    session: Session,
    actor: Actor,
    base: Select[Any],
    query: TransferQuery,
    now: datetime,
    other_org: InstrumentedAttribute[str] = Transfer.recipient_org_id,
) -> TransferPage:
    """One page of ``base`` (transfers the actor may list), filtered, newest first.

    Every filter narrows ``base``, never widens it: whatever is asked, only the actor's own
    transfers are listed. ``other_org`` is the column the organisation filter reads (the
    sender's organisation in an inbox, the recipient's in an outbox)."""
    stmt = base
    urns = {parse_urn(query.case)} if query.case is not None else set()
    if query.search is not None and is_urn(query.search):
        urns.add(parse_urn(query.search))
    if urns:
        stmt = stmt.join(Case, Case.id == Transfer.case_id).where(*(Case.urn == u for u in urns))
    if query.search is not None and _ID.fullmatch(query.search):
        stmt = stmt.where(Transfer.id == query.search.lower())
    if query.org:
        named = select(Organisation.id).where(
            func.lower(Organisation.name) == query.org.strip().lower()
        )
        stmt = stmt.where(other_org.in_(named))
    if query.state is not None:
        stmt = stmt.where(Transfer.state == query.state)
    if query.overdue:  # past its deadline and not yet acknowledged
        stmt = stmt.where(
            Transfer.state.in_([s.value for s in AWAITING_ACK]), Transfer.ack_deadline <= now
        )
    window = Window(query.limit, query.after)
    rows, more = newest_first(session, stmt, Transfer.created_at, Transfer.id, window)
    found = [row[0] for row in rows]
    views = describe_many(session, found, actor)
    after = next_cursor(found, more, lambda t: (t.created_at, t.id))
    return TransferPage(transfers=views, next=after)


def own_wraps(session: Session, item_ids: Iterable[str], user_id: str) -> dict[str, bytes]:
    """The person's own key wraps of these items, by item: all that is theirs to open."""
    return lookup(
        session, KeyWrap.item_id, KeyWrap.wrap, item_ids, KeyWrap.reader_user_id == user_id
    )


def only_item(view: TransferOut, item_id: str) -> TransferOut:
    """The transfer as it shows one of its items (to someone it was shared with)."""
    return view.model_copy(update={"items": [i for i in view.items if i.id == item_id]})


def describe(session: Session, transfer: Transfer, actor: Actor) -> TransferOut:
    """A transfer as the actor may see it: parties by address, the actor's own wraps only."""
    return describe_many(session, [transfer], actor)[0]


def describe_many(
    session: Session, transfers: Sequence[Transfer], actor: Actor
) -> list[TransferOut]:
    """Several transfers, in the same few queries however many there are."""
    if not transfers:
        return []
    people = {u for t in transfers for u in (t.sender_id, *(r.user_id for r in t.recipients))}
    emails = lookup(session, User.id, User.email, people)
    item_ids = [i.id for t in transfers for i in t.items]
    wraps = own_wraps(session, item_ids, actor.user_id)
    orgs = lookup(
        session, Organisation.id, Organisation.name, {t.recipient_org_id for t in transfers}
    )
    unit_ids = {t.recipient_unit_id for t in transfers if t.recipient_unit_id}
    units = lookup(session, Unit.id, Unit.name, unit_ids)
    key_indexes = {t.sender_key_index for t in transfers}
    keys = lookup(session, UserKey.ledger_index, UserKey.signing_key, key_indexes)

    def party(user_id: str) -> PartyOut:
        return PartyOut(user_id=user_id, email=emails.get(user_id, "?"))

    return [
        TransferOut.of(
            t,
            case=t.case.urn,
            sender=party(t.sender_id),
            sender_signing_key=keys.get(t.sender_key_index),
            recipient_org=orgs.get(t.recipient_org_id, "?"),
            recipient_unit=units.get(t.recipient_unit_id) if t.recipient_unit_id else None,
            recipients=[party(r.user_id) for r in t.recipients],
            items=[ItemOut.of(i, wrap=wraps.get(i.id)) for i in t.items],
        )
        for t in transfers
    ]


@dataclass(frozen=True)
class Receipt:
    """What one recipient did with a transfer, from its items' ledger entries: when they first
    received (downloaded, decrypted and verified) each item, and when they acknowledged it."""

    email: str
    items_received: int
    first_received: TrailEntry | None
    acknowledged: TrailEntry | None

    @property
    def verified(self) -> bool | None:
        """Whether the acknowledgement followed the acknowledger's own verified receipt."""
        if self.acknowledged is None:
            return None
        return self.acknowledged.data.get("receipt") == "verified"


def receipts(view: TransferOut, trail: Sequence[TrailEntry]) -> list[Receipt]:
    """Each recipient's receipt and acknowledgement, each with the entry that proves it."""
    found = []
    for person in view.recipients:
        mine = [e for e in trail if e.actor == person.user_id]
        received = [e for e in mine if e.type == EntryType.ITEM_RECEIVED]
        acks = [e for e in mine if e.type == EntryType.TRANSFER_ACKNOWLEDGED]
        found.append(
            Receipt(
                email=person.email,
                items_received=len({e.item for e in received}),
                first_received=received[0] if received else None,
                acknowledged=acks[0] if acks else None,
            )
        )
    return found


def is_overdue(view: TransferOut, now: datetime) -> bool:
    """Past its acknowledgement deadline and not acknowledged yet."""
    return (
        view.state in {s.value for s in AWAITING_ACK}
        and view.ack_deadline is not None
        and view.ack_deadline <= now
    )

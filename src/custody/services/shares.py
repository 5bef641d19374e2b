"""Sharing onward: a current holder's client wraps the item key for one more reader.

The server never sees the item key: it names the new reader's registered key (so
the client can check it against the ledger), then stores the wrap the client
made. A share may expire (the watcher ends it); an open incident freezes sharing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.deadlines import parse_when
from custody.domain.items import ItemState
from custody.domain.people import CONTENT_ROLES
from custody.errors import Conflict, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.protocol.assurance import (
    SharedOut,
    SharedPage,
    ShareIn,
    ShareOut,
    ShareTargetOut,
)
from custody.protocol.transfers import TransferOut
from custody.services import access, reading
from custody.services.accounts import current_key
from custody.services.context import Actor, ServiceContext, refuse
from custody.services.ledger import record_item
from custody.services.paging import Window, newest_first, next_cursor
from custody.services.transfer_views import describe, only_item
from custody.services.transfers import person_reader
from custody.store.models import Case, Item, KeyWrap, Organisation, User, UserKey
from custody.store.models_delivery import AccessGrant


def _holder_item(
    ctx: ServiceContext, session: Session, actor: Actor, item_id: str, action: str
) -> Item:
    """The item, if the actor holds a live wrap and may read it now; else a refusal,
    recorded in the ledger (:func:`refuse` keeps that record)."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    refused = reading.refusal(ctx, session, actor, item, action)
    if refused is not None:
        refuse(refused)
    return item


def _frozen(session: Session, item: Item) -> None:
    incident = access.open_incident(session, item)
    if incident is not None:
        raise Conflict(
            f"sharing item {item.id} is frozen by incident {incident.id}",
            hint="nothing can be shared until the incident is closed",
        )


def _reader(session: Session, actor: Actor, email: str) -> tuple[User, UserKey]:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.disabled or user.role not in {r.value for r in CONTENT_ROLES}:
        raise NotFound(
            f"no one to share with called {email!r}",
            hint="name the e-mail address of a prosecutor, counsel, court or defence user",
        )
    if user.id == actor.user_id:
        raise InvalidInput("you cannot share an item with yourself")
    key = current_key(session, user.id)
    if key is None:
        raise Conflict(f"{user.email} has no keys yet", hint="ask them to run `custody keys init`")
    return user, key


def share_target(ctx: ServiceContext, actor: Actor, item_id: str, email: str) -> ShareTargetOut:
    """Whom the client must wrap for: the reader's key and the ledger entry registering it."""
    with ctx.unit_of_work() as session:
        item = _holder_item(ctx, session, actor, item_id, "share")
        _frozen(session, item)
        user, key = _reader(session, actor, email)
        return ShareTargetOut(
            user_id=user.id,
            email=user.email,
            recipient=key.age_recipient,
            key_index=key.ledger_index,
        )


def share(ctx: ServiceContext, actor: Actor, item_id: str, request: ShareIn) -> ShareOut:
    """Add a reader: the item key wrapped (by the holder's client) for the reader's key."""
    email, expires = request.email, request.expires
    expires_at = parse_when(expires, ctx.clock.now()) if expires else None
    wrapped = access.unbase64(request.wrap, "the key wrap")
    with ctx.unit_of_work() as session:
        item = _holder_item(ctx, session, actor, item_id, "share")
        grant = _add_share(
            ctx, session, actor, item, email, wrapped, request.key_index, expires_at
        )
        return ShareOut(
            item=grant.item_id, reader=email.strip().lower(), expires_at=grant.expires_at
        )


def _add_share(
    ctx: ServiceContext,
    session: Session,
    actor: Actor,
    item: Item,
    email: str,
    wrapped: bytes,
    key_index: int,
    expires_at: datetime | None,
) -> AccessGrant:
    now = ctx.clock.now()
    if item.state != ItemState.SEALED:
        raise Conflict(f"item {item.id} is {item.state}; only sealed material can be shared")
    _frozen(session, item)
    user, key = _reader(session, actor, email)
    if key.ledger_index != key_index:
        raise Conflict(
            f"{user.email}'s key changed while you were sharing", hint="run the command again"
        )
    if access.live_wrap(session, item.id, user.id) is not None:
        raise Conflict(f"{user.email} can already read item {item.id}")
    reader = person_reader(user, key)
    grant = access.add_wrap(
        session,
        item,
        reader,
        wrapped,
        kind="share",
        by=actor.user_id,
        at=now,
        expires_at=expires_at,
    )
    session.flush()
    record_item(
        ctx,
        session,
        EntryType.ITEM_SHARED,
        actor,
        item,
        data={
            "reader": user.id,
            "org": user.org_id,
            "key_index": key.ledger_index,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return grant


def item_view(ctx: ServiceContext, actor: Actor, item_id: str) -> TransferOut:
    """One item as a transfer with only that item, for anyone holding a live wrap of it."""
    with ctx.unit_of_work() as session:
        item = _holder_item(ctx, session, actor, item_id, "fetch")
        return only_item(describe(session, item.transfer, actor), item.id)


def shared_with(ctx: ServiceContext, actor: Actor, window: Window | None = None) -> SharedPage:
    """Items shared with the actor that they can still read, newest first, a page at a time."""
    with ctx.unit_of_work() as session:
        query = (
            select(  # named as the view names them
                Item.id.label("item"),
                Case.urn.label("case"),
                User.email.label("shared_by"),
                Organisation.name.label("shared_by_org"),
                AccessGrant.granted_at.label("shared_at"),
                AccessGrant.expires_at,
                Item.ciphertext_size,
                AccessGrant.id,
            )
            .select_from(AccessGrant)
            .join(KeyWrap, KeyWrap.id == AccessGrant.id)
            .join(Item, Item.id == AccessGrant.item_id)
            .join(Case, Case.id == Item.case_id)
            .join(User, User.id == AccessGrant.granted_by)
            .join(Organisation, Organisation.id == User.org_id)
            .where(AccessGrant.reader_user_id == actor.user_id, AccessGrant.kind == "share")
        )
        rows, more = newest_first(
            session, query, AccessGrant.granted_at, AccessGrant.id, window or Window()
        )
        return SharedPage(
            shared=[SharedOut.of(row) for row in rows],
            next=next_cursor(rows, more, lambda row: (row.shared_at, row.id)),
        )

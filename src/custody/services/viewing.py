"""Viewing an item in the browser's player: decrypted on the viewer's machine, logged once.

A player asks for many byte ranges as a video plays and seeks; logging each as a download
would bury the trail. So a viewing starts with one ``item:viewed`` entry (and delivers the
transfer, as a first download does), and its ranges are fetched by the viewing's id for a
few hours — each one still checked, so a revocation or an incident stops the player at its
next request, and the refusal is recorded.
"""

from __future__ import annotations

from datetime import timedelta

from custody.errors import Gone, NotFound
from custody.ledger.events import EntryType
from custody.protocol.transfers import ViewOut
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record_item
from custody.services.reading import Download, deliver, find_item, readable_range
from custody.store.db import new_id
from custody.store.models_delivery import ItemView

VIEW_HOURS = 4


def start(ctx: ServiceContext, actor: Actor, item_id: str) -> ViewOut:
    """Begin a viewing of ``item_id``: recorded, and the transfer delivered to a recipient."""
    with ctx.unit_of_work() as session:
        item = find_item(session, item_id)
        whole = readable_range(ctx, session, actor, item, "view", 0, None)
        deliver(ctx, item, actor)
        now = ctx.clock.now()
        view = ItemView(
            id=new_id(),
            item_id=item.id,
            user_id=actor.user_id,
            started_at=now,
            expires_at=now + timedelta(hours=VIEW_HOURS),
        )
        view.ledger_index = record_item(
            ctx,
            session,
            EntryType.ITEM_VIEWED,
            actor,
            item,
            data={"view": view.id, "until": view.expires_at.isoformat()},
        ).index
        session.add(view)
        return ViewOut(
            view=view.id,
            item=item.id,
            ciphertext_size=whole.size,
            expires_at=view.expires_at,
            ledger_index=view.ledger_index,
        )


def fetch(ctx: ServiceContext, actor: Actor, view_id: str, start: int, end: int | None) -> Download:
    """One range of the viewing's ciphertext, if the viewer may still read the item."""
    with ctx.unit_of_work() as session:
        view = session.get(ItemView, view_id)
        if view is None or view.user_id != actor.user_id:
            raise NotFound(f"no viewing {view_id[:40]}")
        if ctx.clock.now() >= view.expires_at:
            raise Gone("this viewing has ended", hint="open the player again")
        item = find_item(session, view.item_id)
        return readable_range(ctx, session, actor, item, "view", start, end)

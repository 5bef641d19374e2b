"""An acknowledgement follows the acknowledger's verified receipt, or says that it does not.

Security review (low): acknowledging in the web application needed no prior download, so
"acknowledged" could mean "never received".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_world import Inbox, World, make_world

from custody.errors import Conflict
from custody.ledger.entry import Entry
from custody.services import items, transfers
from custody.store.ledger_store import LedgerStore
from custody.store.models import Transfer


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(db_url, tmp_path, 1, Inbox())


def _acks(w: World, tid: str) -> list[tuple[str, str]]:
    with w.ctx.unit_of_work() as session:
        ids = [i.id for i in session.get_one(Transfer, tid).items]
        rows = LedgerStore(session).entries_of(ids, "transfer:acknowledged")
    entries = [Entry.from_bytes(body) for _, body in rows]
    return [(e.actor, e.data["receipt"]) for e in entries]


def test_an_acknowledgement_needs_ones_own_verified_receipt(world: World) -> None:
    w = world
    tid = w.transfer(items=2)
    first, second = (str(i["id"]) for i in transfers.view(w.ctx, w.officer, tid)["items"])  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="not received and verified 2 of its item"):
        transfers.acknowledge(w.ctx, w.prosecutor, tid)
    items.record_receipt(w.ctx, w.prosecutor, first, "a" * 64, True, None)
    items.record_receipt(w.ctx, w.prosecutor2, second, "a" * 64, True, None)  # someone else's
    with pytest.raises(Conflict, match="1 of its item"):
        transfers.acknowledge(w.ctx, w.prosecutor, tid)
    items.record_receipt(w.ctx, w.prosecutor, second, "a" * 64, False, "hash differs")
    with pytest.raises(Conflict):  # a failed verification is no receipt
        transfers.acknowledge(w.ctx, w.prosecutor, tid)
    items.record_receipt(w.ctx, w.prosecutor, second, "a" * 64, True, None)
    transfers.acknowledge(w.ctx, w.prosecutor, tid)
    me = w.prosecutor.user_id
    assert _acks(w, tid) == [(me, "verified"), (me, "verified")]


def test_acknowledging_without_a_receipt_says_so_in_the_trail(world: World) -> None:
    w = world
    tid = w.transfer()
    transfers.acknowledge(w.ctx, w.prosecutor, tid, without_receipt=True)
    assert _acks(w, tid) == [(w.prosecutor.user_id, "none")]

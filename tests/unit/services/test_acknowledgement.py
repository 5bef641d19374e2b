"""An acknowledgement follows the acknowledger's verified receipt, or says that it does not.

Security review (low): acknowledging in the web application needed no prior download, so
"acknowledged" could mean "never received".
"""

from __future__ import annotations

import pytest

from custody.errors import Conflict
from custody.ledger.entry import Entry
from custody.services import items, transfers
from custody.store.ledger_store import LedgerStore
from custody.store.models import Transfer
from support.world import Cast


def _acks(w: Cast, tid: str) -> list[tuple[str, str]]:
    with w.ctx.unit_of_work() as session:
        ids = [i.id for i in session.get_one(Transfer, tid).items]
        rows = LedgerStore(session).entries_of(ids, "transfer:acknowledged")
    entries = [Entry.from_bytes(body) for _, body in rows]
    return [(e.actor, e.data["receipt"]) for e in entries]


def test_an_acknowledgement_needs_ones_own_verified_receipt(cast: Cast) -> None:
    w = cast
    tid = w.transfer(items=2)
    first, second = (i.id for i in transfers.view(w.ctx, w.officer, tid).items)
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


def test_acknowledging_without_a_receipt_says_so_in_the_trail(cast: Cast) -> None:
    w = cast
    tid = w.transfer()
    transfers.acknowledge(w.ctx, w.prosecutor, tid, without_receipt=True)
    assert _acks(w, tid) == [(w.prosecutor.user_id, "none")]

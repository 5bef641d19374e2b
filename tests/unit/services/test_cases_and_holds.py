"""Cases belong to organisations; retention acts on one's own material; holds on what one holds.

The attack these tests reproduce (security review, finding 3): an officer of a defence
organisation opened a URN before the police used it, set a one-day retention on "the
case", and the police's item in it was crypto-shredded. Both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from custody.domain.people import OrgKind, Role
from custody.domain.retention import retention_end
from custody.errors import Conflict, Forbidden, NotFound
from custody.ledger.entry import Entry
from custody.services import cases, retention, transfers
from custody.services.context import Actor
from custody.services.watcher import run_watcher_once
from custody.store.ledger_store import LedgerStore
from custody.store.models import Item, Transfer
from custody.store.models_delivery import LegalHold
from support.world import CPS, Cast


def _defence_officer(w: Cast) -> Actor:
    w.world.org("Example Defence LLP", OrgKind.DEFENCE)
    return w.world.add("clerk", "clerk@defence.example", "Example Defence LLP", Role.OFFICER).actor


def _item_and_urn(w: Cast) -> tuple[str, str]:
    tid = w.transfer()
    with w.ctx.unit_of_work() as session:
        transfer = session.get_one(Transfer, tid)
        return transfer.items[0].id, transfer.case.urn


def _state(w: Cast, item: str) -> str:
    with w.ctx.unit_of_work() as session:
        return session.get_one(Item, item).state


def test_another_organisation_cannot_get_police_evidence_shredded(cast: Cast) -> None:
    w = cast
    defence = _defence_officer(w)
    urn = "47TV9000001"
    # The defence opens the URN first: the police can still open it, as their own case.
    cases.create_case(w.ctx, defence, urn)
    police_case = cases.create_case(w.ctx, w.officer, urn)
    tid = w.transfer(urn=urn)
    with w.ctx.unit_of_work() as session:
        transfer = session.get_one(Transfer, tid)
        assert transfer.case_id == police_case.id
        item = transfer.items[0].id

    # The defence's retention acts on the defence's own case, which holds nothing of the police;
    # the police's item is out of its reach altogether.
    label = retention.set_retention(w.ctx, defence, urn, until=None, for_="1d").target
    assert label == f"case {urn}"
    with pytest.raises(NotFound):
        retention.set_retention(w.ctx, defence, item, until=None, for_="1d")
    with pytest.raises(NotFound):
        retention.set_hold(w.ctx, defence, item, "to block a shred")
    w.clock.advance(timedelta(days=2))
    assert run_watcher_once(w.ctx).shredded == 0
    assert _state(w, item) == "sealed"

    # The police's own retention still works on the police's case.
    retention.set_retention(w.ctx, w.officer, urn, until=None, for_="1d")
    w.clock.advance(timedelta(days=2))
    assert run_watcher_once(w.ctx).shredded == 1
    assert _state(w, item) == "shredded"


def test_opening_a_case_reveals_nothing_about_other_organisations(cast: Cast) -> None:
    w = cast
    _, urn = _item_and_urn(w)  # the police opened it
    made = cases.create_case(w.ctx, w.outsider, urn)  # another force: no "exists already"
    assert made.urn == urn
    with pytest.raises(Conflict, match="your organisation"):
        cases.create_case(w.ctx, w.outsider, urn)
    # Sending for a URN uses the sender's own organisation's case, never another's.
    with pytest.raises(NotFound, match="your organisation has no case"):
        transfers.create_transfer(w.ctx, w.prosecutor, urn, ["Thames Valley Police"], None)


def test_holds_belong_to_whoever_holds_the_material(cast: Cast) -> None:
    w = cast
    item, urn = _item_and_urn(w)
    # Retention is the sending organisation's to set; a holder is pointed to a hold instead.
    with pytest.raises(Forbidden, match="organisation that sent it") as refused:
        retention.set_retention(w.ctx, w.prosecutor, item, until=None, for_="1d")
    assert "custody hold" in str(refused.value.hint)
    retention.set_retention(w.ctx, w.officer, item, until=None, for_="1d")

    # The prosecution holds the whole case as it knows it (URN), though it opened no case.
    assert retention.set_hold(w.ctx, w.prosecutor, urn, "appeal lodged").target == f"case {urn}"
    with pytest.raises(Conflict, match="already under a legal hold of your organisation"):
        retention.set_hold(w.ctx, w.cps_admin, urn, "again")
    # The police may hold it too; each organisation's hold is its own.
    retention.set_hold(w.ctx, w.police_admin, item, "review")
    retention.set_hold(w.ctx, w.police_admin, item, "review over", release=True)
    with pytest.raises(Conflict, match="not under a legal hold of your organisation"):
        retention.set_hold(w.ctx, w.police_admin, urn, "not theirs to release", release=True)
    # Strangers learn nothing; a stranger's case-wide hold covers only what it holds: nothing.
    with pytest.raises(NotFound):
        retention.set_hold(w.ctx, w.outsider, item, "mine now")
    with pytest.raises(NotFound, match="holds no material"):
        retention.set_hold(w.ctx, w.outsider, urn, "mine now")

    w.clock.advance(timedelta(days=2))
    assert run_watcher_once(w.ctx).shredded == 0  # the prosecution's hold stands
    with pytest.raises(Conflict, match=CPS):
        retention.shred(w.ctx, item, "tidy up", by="operator")
    retention.set_hold(w.ctx, w.prosecutor, urn, "appeal dismissed", release=True)
    assert run_watcher_once(w.ctx).shredded == 1
    assert _state(w, item) == "shredded"

    with w.ctx.unit_of_work() as session:
        holds = session.scalars(select(LegalHold).order_by(LegalHold.set_at)).all()
        assert {(h.org_id, h.urn, h.item_id) for h in holds} == {
            (w.cps_org, urn, None),
            (w.police_org, None, item),
        }
        store = LedgerStore(session)
        trail = [Entry.from_bytes(b) for _, b in store.item_trail(item)]
        log = [store.entry(i) for i in range(store.size())]
    assert [e.type for e in trail if e.type.startswith("retention:hold")] == [
        "retention:hold_set",
        "retention:hold_released",
    ]
    case_holds = [Entry.from_bytes(b) for b in log if b"retention:hold" in b]
    assert sum(e.item is None and e.data["org"] == w.cps_org for e in case_holds) == 2
    # No reason is in the public log (finding 6): only commitments.
    assert not any(b"appeal" in b or b"review" in b for b in log)


def test_retention_periods_in_months_and_years_are_calendar_periods() -> None:
    march = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert retention_end(march, until=None, for_="7y") == datetime(2033, 3, 1, 9, 30, tzinfo=UTC)
    january = datetime(2027, 1, 31, tzinfo=UTC)
    assert retention_end(january, until=None, for_="1m") == datetime(2027, 2, 28, tzinfo=UTC)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert retention_end(leap, until=None, for_="1y") == datetime(2029, 2, 28, tzinfo=UTC)
    assert retention_end(leap, until=None, for_="18m") == datetime(2029, 8, 29, tzinfo=UTC)
    assert retention_end(march, until=None, for_="2w") == march + timedelta(days=14)

"""Retention and shredding, incidents and sharing, through the services (both backends)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from custody.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from custody.ledger.entry import Entry
from custody.protocol.assurance import ShareIn
from custody.services import incidents, items, notes, retention, shares, subjects, transfers
from custody.services.watcher import run_watcher_once
from custody.store.ledger_store import LedgerStore
from custody.store.models import Item, KeyWrap, Transfer
from custody.store.models_delivery import Alert, Incident, Retention
from custody.store.models_security import SecurityEvent
from support.world import Cast

WRAP = base64.b64encode(b"a wrap made by the client").decode()


def _items(w: Cast, tid: str) -> list[str]:
    with w.ctx.unit_of_work() as session:
        return [i.id for i in session.get_one(Transfer, tid).items]


def _state(w: Cast) -> tuple[int, int, int, int]:
    """Everything a refused command must leave alone: wraps, ledger, retention, incidents."""
    with w.ctx.unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(KeyWrap)) or 0,
            LedgerStore(session).size(),
            session.scalar(select(func.count()).select_from(Retention)) or 0,
            session.scalar(select(func.count()).select_from(Incident)) or 0,
        )


def _trail(w: Cast, item: str, type_: str) -> list[Entry]:
    with w.ctx.unit_of_work() as session:
        rows = LedgerStore(session).item_trail(item)
    return [e for e in (Entry.from_bytes(b) for _, b in rows) if e.type == type_]


def _reason(w: Cast, entry: Entry) -> str:
    """The reason an entry refers to: kept beside the public log, never in it."""
    assert "reason" not in entry.data
    with w.ctx.unit_of_work() as session:
        return notes.texts(session, [entry.data[notes.KEY]])[entry.data[notes.KEY]]


def _share(w: Cast, item: str, reader: str, key_index: int, expires: str | None,
           wrap: str = WRAP) -> None:
    """The prosecutor shares ``item`` with ``reader``, as their client would."""
    request = ShareIn(email=reader, wrap=wrap, key_index=key_index, expires=expires)
    shares.share(w.ctx, w.prosecutor, item, request)


def _with_blob(w: Cast, item: str) -> None:
    w.ctx.blobs.create_upload("u-" + item, 3, f"items/{item}")
    w.ctx.blobs.append("u-" + item, 0, [b"abc"])
    w.ctx.blobs.finish_upload("u-" + item, f"items/{item}")


def test_shred_destroys_every_wrap_and_the_blob_and_records_who_and_why(cast: Cast) -> None:
    w = cast
    tid = w.transfer(items=2)
    item, other = _items(w, tid)
    _with_blob(w, item)
    assert b"".join(w.ctx.blobs.read(f"items/{item}")) == b"abc"
    before = _state(w)
    with pytest.raises(NotFound):
        retention.shred(w.ctx, "no-such-item", "x", by="operator")
    with pytest.raises(InvalidInput):
        retention.shred(w.ctx, item, "  ", by="operator")
    assert _state(w) == before

    assert retention.shred(w.ctx, item, "court order 12", by="operator", operator="op alice") == 5
    with w.ctx.unit_of_work() as session:
        assert session.scalars(select(KeyWrap).where(KeyWrap.item_id == item)).all() == []
        row = session.get_one(Item, item)
        assert (row.state, row.blob_key) == ("shredded", None)
        assert session.get_one(Transfer, tid).state == "sent"  # one item is left
    with pytest.raises(NotFound):
        list(w.ctx.blobs.read(f"items/{item}"))
    (entry,) = _trail(w, item, "item:shredded")
    assert "op alice" not in entry.to_bytes().decode()  # the operator's name: beside the log
    assert (entry.actor, _reason(w, entry)) == ("operator", "court order 12")
    with w.ctx.unit_of_work() as session:
        named = session.scalars(
            select(SecurityEvent.detail).where(SecurityEvent.type == "item:shredded")
        )
        assert list(named) == [f"item {item} by op alice"]
    with pytest.raises(Gone, match="crypto-shredded"):
        items.start_download(w.ctx, w.prosecutor, item, 0, None)
    before = _state(w)
    with pytest.raises(Conflict, match="already shredded"):
        retention.shred(w.ctx, item, "again", by="operator")
    assert _state(w) == before
    retention.shred(w.ctx, other, "court order 12", by="operator")
    with w.ctx.unit_of_work() as session:
        assert session.get_one(Transfer, tid).state == "expired"


def test_retention_sweep_respects_holds_and_who_may_set_them(cast: Cast) -> None:
    w = cast
    tid = w.transfer(items=2)
    held, free = _items(w, tid)
    urn = transfers.view(w.ctx, w.officer, tid).case
    assert isinstance(urn, str)
    before = _state(w)
    for bad, error in (
        ({"until": "2020-01-01", "for_": None}, "in the past"),
        ({"until": None, "for_": "7 years"}, "not a retention period"),
        ({"until": None, "for_": None}, "exactly one"),
        ({"until": "2030-01-01", "for_": "1y"}, "exactly one"),
    ):
        with pytest.raises(InvalidInput, match=error):
            retention.set_retention(w.ctx, w.officer, urn, **bad)
    with pytest.raises(NotFound):
        retention.set_retention(w.ctx, w.officer, "nonexistent", until=None, for_="1y")
    with pytest.raises(NotFound):
        retention.set_retention(w.ctx, w.outsider, urn, until=None, for_="1y")
    with pytest.raises(Forbidden):
        retention.set_retention(w.ctx, w.prosecutor, held, until=None, for_="1y")
    with pytest.raises(NotFound):
        retention.set_hold(w.ctx, w.outsider, held, "appeal pending")
    assert _state(w) == before

    retention.set_retention(w.ctx, w.officer, urn, until=None, for_="30d")
    retention.set_hold(w.ctx, w.police_admin, held, "appeal pending")
    with pytest.raises(Conflict, match="already under"):
        retention.set_hold(w.ctx, w.police_admin, held, "again")
    w.clock.advance(timedelta(days=29))
    assert run_watcher_once(w.ctx).shredded == 0
    w.clock.advance(timedelta(days=2))
    assert run_watcher_once(w.ctx).shredded == 1
    with w.ctx.unit_of_work() as session:
        assert session.get_one(Item, free).state == "shredded"
        assert session.get_one(Item, held).state == "sealed"
    (entry,) = _trail(w, free, "item:shredded")
    assert (entry.actor, _reason(w, entry)) == ("system", "its retention period ended")
    with pytest.raises(Conflict, match="legal hold"):
        retention.shred(w.ctx, held, "tidy up", by="operator")
    retention.set_hold(w.ctx, w.police_admin, held, "appeal dismissed", release=True)
    with pytest.raises(Conflict, match="not under"):
        retention.set_hold(w.ctx, w.police_admin, held, "again", release=True)
    assert run_watcher_once(w.ctx).shredded == 1
    assert run_watcher_once(w.ctx).shredded == 0


def test_incident_withdraws_all_but_owners_and_reports_exactly_the_accesses(cast: Cast) -> None:
    w = cast
    tid = w.transfer(items=2)
    item, other = _items(w, tid)
    subjects_refs = ["V-2026-0017", "W-88"]
    # Subjects are attached before sending; the world sends at once, so attach to a draft.
    with pytest.raises(Conflict):
        subjects.attach(w.ctx, w.officer, tid, subjects_refs)
    with pytest.raises(InvalidInput, match="not a subject reference"):
        subjects.attach(w.ctx, w.officer, tid, ["Jane Smith"])
    items.start_download(w.ctx, w.prosecutor, item, 0, None)
    items.record_receipt(w.ctx, w.prosecutor, item, "a" * 64, True, None)
    items.start_download(w.ctx, w.prosecutor2, other, 0, 10)

    before = _state(w)
    with pytest.raises(NotFound):
        incidents.open_incident(w.ctx, w.outsider, tid, "lost")
    with pytest.raises(NotFound):
        incidents.open_incident(w.ctx, w.officer, "no-such-thing", "lost")
    with pytest.raises(InvalidInput):
        incidents.open_incident(w.ctx, w.officer, tid, "")
    assert _state(w) == before

    opened = incidents.open_incident(w.ctx, w.prosecutor, tid, "laptop stolen")
    with pytest.raises(Conflict, match="already open"):
        incidents.open_incident(w.ctx, w.officer, item, "again")
    for who in (w.prosecutor, w.prosecutor2):
        for each in (item, other):
            with pytest.raises(Gone, match="incident"):
                items.start_download(w.ctx, who, each, 0, None)
    items.start_download(w.ctx, w.officer, item, 0, None)  # the owner still can
    with w.ctx.unit_of_work() as session:
        readers = {k.reader_user_id for k in session.scalars(select(KeyWrap))}
        assert session.get_one(Transfer, tid).state == "compromised"
    assert readers == {w.officer.user_id, None}

    report = incidents.impact(w.ctx, w.cps_admin, opened.id)
    assert report.case == transfers.view(w.ctx, w.officer, tid).case
    assert report.regulator_deadline == opened.opened_at + timedelta(hours=72)
    did = {(i.item, a.user, a.type) for i in report.items for a in i.accessed}
    assert did == {
        (item, "a.patel@cps.example", "item:downloaded"),
        (item, "a.patel@cps.example", "item:received"),
        (other, "b.okafor@cps.example", "item:downloaded"),
        (item, "dc.jones@tvp.police.example", "item:downloaded"),
    }
    ended = {g.end for i in report.items for g in i.could_access if g.ended_at}
    assert ended == {"incident"}
    with pytest.raises(NotFound):
        incidents.impact(w.ctx, w.outsider, opened.id)

    # Reminders at 24h, 48h, 66h and when due, each once, until marked reported.
    kinds = []
    for hours in (23, 1, 24, 18, 6, 1):
        w.clock.advance(timedelta(hours=hours))
        run_watcher_once(w.ctx)
        with w.ctx.unit_of_work() as session:
            kinds = sorted(
                set(session.scalars(select(Alert.kind).where(Alert.subject_id == opened.id)))
            )
    assert kinds == ["opened", "regulator:24h", "regulator:48h", "regulator:66h", "regulator:due"]
    with pytest.raises(Forbidden):
        incidents.mark_reported(w.ctx, w.prosecutor2, opened.id)
    incidents.mark_reported(w.ctx, w.cps_admin, opened.id)
    with pytest.raises(Conflict, match="already marked reported"):
        incidents.mark_reported(w.ctx, w.cps_admin, opened.id)
    incidents.close(w.ctx, w.prosecutor, opened.id)
    with pytest.raises(Conflict, match="already closed"):
        incidents.close(w.ctx, w.prosecutor, opened.id)
    with pytest.raises(NotFound):
        incidents.close(w.ctx, w.prosecutor, "no-such-incident")


def test_share_with_expiry_incident_freeze_and_bad_input(cast: Cast) -> None:
    w = cast
    tid = w.transfer()
    (item,) = _items(w, tid)
    reader = "pc.reid@northshire.police.example"  # another organisation
    before = _state(w)
    with pytest.raises(NotFound):
        shares.share_target(w.ctx, w.prosecutor, item, "nobody@example.org")
    with pytest.raises(InvalidInput, match="past"):
        _share(w, item, reader, 0, "2020-01-01")
    with pytest.raises(InvalidInput, match="base64"):
        _share(w, item, reader, 0, None, wrap="%%")
    with pytest.raises(InvalidInput, match="yourself"):
        shares.share_target(w.ctx, w.prosecutor, item, w.prosecutor.email)
    with pytest.raises(NotFound):  # the outsider holds nothing: same answer as for no item
        shares.share_target(w.ctx, w.outsider, item, w.prosecutor2.email)
    assert _state(w)[0] == before[0]

    target = shares.share_target(w.ctx, w.prosecutor, item, reader)
    with pytest.raises(Conflict, match="key changed"):
        _share(w, item, reader, target.key_index + 1, None)
    _share(w, item, reader, target.key_index, "14d")
    with pytest.raises(Conflict, match="already read"):
        _share(w, item, reader, target.key_index, None)
    view = shares.item_view(w.ctx, w.outsider, item)
    assert [i.wrap for i in view.items] == [base64.b64decode(WRAP)]
    items.start_download(w.ctx, w.outsider, item, 0, None)
    assert [r.item for r in shares.shared_with(w.ctx, w.outsider).shared] == [item]
    (entry,) = _trail(w, item, "item:shared")
    assert entry.data["reader"] == w.outsider.user_id

    w.clock.advance(timedelta(days=15))
    assert run_watcher_once(w.ctx).expired_shares == 1
    with pytest.raises(Gone, match="expired"):
        items.start_download(w.ctx, w.outsider, item, 0, None)
    assert len(_trail(w, item, "item:share_expired")) == 1

    incidents.open_incident(w.ctx, w.officer, item, "wrong counsel")
    with pytest.raises(Gone, match="incident"):
        shares.share_target(w.ctx, w.prosecutor, item, reader)
    with pytest.raises(Conflict, match="frozen"):  # the owner may fetch, but not share
        shares.share_target(w.ctx, w.officer, item, reader)

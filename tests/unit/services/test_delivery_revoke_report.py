"""Revocation takes effect at once; refusals and accesses appear in the access report."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from custody.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from custody.services import cases, delivery, items, reports, transfers
from custody.services.context import Origin
from custody.store.models import KeyWrap, Transfer
from custody.store.models_delivery import AccessGrant
from support.world import Cast


def _counts(w: Cast) -> tuple[int, int, str]:
    with w.ctx.unit_of_work() as session:
        wraps = session.scalar(select(func.count()).select_from(KeyWrap)) or 0
        ended = session.scalar(
            select(func.count()).select_from(AccessGrant).where(AccessGrant.ended_at.is_not(None))
        )
        states = ",".join(sorted(t.state for t in session.scalars(select(Transfer))))
    return wraps, ended or 0, states


def _item(w: Cast, tid: str) -> str:
    return transfers.view(w.ctx, w.officer, tid).items[0].id


def test_revocation_refuses_and_reports(cast: Cast) -> None:
    w = cast
    tid = w.transfer()
    item = _item(w, tid)
    items.start_download(w.ctx, w.prosecutor, item, 0, None)
    delivery.revoke(w.ctx, w.officer, tid, "sent to the wrong unit")
    for who in (w.prosecutor, w.prosecutor2):
        # The refusal names when, by whom and why (docs/operations.md).
        with pytest.raises(
            Gone, match=r"was revoked on .* by dc\.jones@tvp\.police\.example: sent to the wrong"
        ):
            transfers.view(w.ctx, who, tid)
        with pytest.raises(Gone, match="revoked"):
            items.start_download(w.ctx, who, item, 0, None)
    # The sender keeps access; the recipients' wraps are gone, their grants ended.
    items.start_download(w.ctx, w.officer, item, 0, None)
    with w.ctx.unit_of_work() as session:
        readers = {
            k.reader_user_id
            for k in session.scalars(select(KeyWrap).where(KeyWrap.item_id == item))
        }
    assert readers == {w.officer.user_id, None}

    report = reports.access_report(w.ctx, w.officer, item)
    ended = {g.reader: g for g in report.could_access if g.ended_at}
    assert set(ended) == {"a.patel@cps.example", "b.okafor@cps.example"}
    assert all(
        g.end == "revoked"
        and g.end_reason == "sent to the wrong unit"
        and g.ended_by == "dc.jones@tvp.police.example"
        for g in ended.values()
    )
    assert [(a.user, a.type) for a in report.accessed] == [
        ("a.patel@cps.example", "item:downloaded"),
        ("dc.jones@tvp.police.example", "item:downloaded"),
    ]
    assert report.accessed[0].address == "192.0.2.7"
    assert report.accessed[0].user_agent == "pytest-agent"
    refused = [(r.user, r.detail["action"], r.detail["reason"]) for r in report.refused]
    assert refused == [
        ("a.patel@cps.example", "fetch", "revoked"),
        ("a.patel@cps.example", "download", "revoked"),
        ("b.okafor@cps.example", "fetch", "revoked"),
        ("b.okafor@cps.example", "download", "revoked"),
    ]
    assert all(isinstance(r.index, int) for r in report.refused)


def test_where_a_request_came_from_is_kept_at_the_lengths_the_tables_hold(cast: Cast) -> None:
    """A sender controls its User-Agent: a long one is cut, not a failed write (PostgreSQL
    refuses a value longer than its column); an empty one is none."""
    w = cast
    item = _item(w, w.transfer())
    far = replace(w.prosecutor, origin=Origin("2001:db8::" + "1" * 80, "A" * 5000))
    items.start_download(w.ctx, far, item, 0, None)
    bare = replace(w.prosecutor2, origin=Origin("192.0.2.9", ""))
    items.start_download(w.ctx, bare, item, 0, None)
    lines = reports.access_report(w.ctx, w.officer, item).accessed
    assert [(a.address, a.user_agent) for a in lines] == [
        (("2001:db8::" + "1" * 80)[:64], "A" * 200),
        ("192.0.2.9", None),
    ]


def test_revoke_bad_input_changes_nothing(cast: Cast) -> None:
    w = cast
    tid = w.transfer()
    before = _counts(w)
    with pytest.raises(InvalidInput, match="reason"):
        delivery.revoke(w.ctx, w.officer, tid, "  ")
    with pytest.raises(NotFound):
        delivery.revoke(w.ctx, w.officer, "00000000-0000-0000-0000-000000000000", "x")
    with pytest.raises(Forbidden, match="only the sender"):
        delivery.revoke(w.ctx, w.prosecutor, tid, "x")
    with pytest.raises(NotFound):  # a stranger learns nothing
        delivery.revoke(w.ctx, w.outsider, tid, "x")
    with pytest.raises(NotFound):  # an admin of the *receiving* unit is not the sender's
        delivery.revoke(w.ctx, w.cps_admin, tid, "x")
    assert _counts(w) == before

    delivery.revoke(w.ctx, w.police_admin, tid, "recalled by the unit admin")
    after = _counts(w)
    with pytest.raises(Conflict, match="it was revoked"):
        delivery.revoke(w.ctx, w.officer, tid, "again")
    with pytest.raises(Conflict, match="it was revoked"):
        transfers.acknowledge(w.ctx, w.prosecutor, tid, without_receipt=True)
    assert _counts(w) == after


def test_report_permissions(cast: Cast) -> None:
    w = cast
    item = _item(w, w.transfer(ack=timedelta(hours=1)))
    for allowed in (w.officer, w.prosecutor, w.police_admin, w.cps_admin):
        assert reports.access_report(w.ctx, allowed, item).item == item
    with pytest.raises(NotFound):
        reports.access_report(w.ctx, w.outsider, item)
    with pytest.raises(NotFound):
        reports.access_report(w.ctx, w.officer, "no-such-item")


def test_a_drafts_access_report_is_the_senders_alone(cast: Cast) -> None:
    """Security review (low): the future recipients of a draft, and their admin, read nothing
    of it — its report answers "not found", as its trail and transfer already did."""
    w = cast
    cases.create_case(w.ctx, w.officer, "47TV8000001")
    draft = transfers.create_transfer(
        w.ctx, w.officer, "47TV8000001", ["CPS Thames and Chiltern"], None
    )
    item = items.add_item(w.ctx, w.officer, draft.id, 100).id
    assert reports.access_report(w.ctx, w.officer, item).item == item
    for stranger in (w.prosecutor, w.prosecutor2, w.cps_admin, w.police_admin, w.outsider):
        with pytest.raises(NotFound):
            reports.access_report(w.ctx, stranger, item)

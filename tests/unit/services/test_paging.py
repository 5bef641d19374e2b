"""Every list is paged: a bounded page, newest first, an opaque cursor, no entry twice or lost
— even when entries share a timestamp, or arrive between two pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody.errors import InvalidInput, NotFound
from custody.services import people, security_events, transfers
from custody.services.paging import MAX_PAGE, Window
from custody.services.transfer_views import TransferQuery
from support.world import Cast


def _all_inbox(w: Cast, **filters: object) -> list[list[str]]:
    pages, after = [], None
    while True:
        query = TransferQuery(limit=3, after=after, **filters)  # type: ignore[arg-type]
        page = transfers.inbox(w.ctx, w.prosecutor, query)
        pages.append([t.id for t in page.transfers])
        after = page.next
        if after is None:
            return pages


def test_an_inbox_pages_newest_first_without_repeats_or_gaps(cast: Cast) -> None:
    w = cast
    sent = []
    for n in range(7):
        if n == 4:
            w.clock.advance(timedelta(minutes=1))  # two timestamps: ties broken by id
        sent.append(w.transfer())
    pages = _all_inbox(w)
    assert [len(p) for p in pages] == [3, 3, 1]
    listed = [tid for page in pages for tid in page]
    assert sorted(listed) == sorted(sent)
    assert set(listed[:3]) == set(sent[4:])  # the later minute first

    # A transfer that arrives between two pages is on the first page asked for afterwards,
    # and does not push an old one onto a page twice.
    first = transfers.inbox(w.ctx, w.prosecutor, TransferQuery(limit=3))
    w.clock.advance(timedelta(minutes=1))
    newer = w.transfer()
    rest = transfers.inbox(w.ctx, w.prosecutor, TransferQuery(limit=50, after=first.next))
    assert newer not in [t.id for t in rest.transfers]
    assert len(first.transfers) + len(rest.transfers) == 7


def test_filters_and_bad_windows(cast: Cast) -> None:
    w = cast
    acked = w.transfer()
    w.transfer(ack=timedelta(hours=1))
    transfers.acknowledge(w.ctx, w.prosecutor, acked, without_receipt=True)
    assert _all_inbox(w, state="acknowledged") == [[acked]]
    w.clock.advance(timedelta(hours=2))
    overdue = _all_inbox(w, overdue=True)
    assert len(overdue) == 1
    assert acked not in overdue[0]
    assert len(overdue[0]) == 1
    for bad in ({"limit": 0}, {"limit": MAX_PAGE + 1}):
        with pytest.raises(InvalidInput, match="a page holds"):
            TransferQuery(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not one custody gave"):
        transfers.inbox(w.ctx, w.prosecutor, TransferQuery(after="not a cursor"))
    with pytest.raises(InvalidInput, match="no transfer state"):
        TransferQuery(state="lost")


def test_people_and_security_events_page_alike(cast: Cast) -> None:
    w = cast
    seen, after = [], None
    while True:
        page = people.list_people(w.ctx, w.cps_admin, Window(limit=1, after=after))
        seen += [p.email for p in page.people]
        after = page.next
        if after is None:
            break
    assert sorted(seen) == ["a.patel@cps.example", "admin@cps.example", "b.okafor@cps.example"]
    only = people.list_people(w.ctx, w.cps_admin, role=people.Role.ADMIN).people
    assert [p.email for p in only] == ["admin@cps.example"]

    for n in range(3):  # three refused views, of three different transfers: three events
        with pytest.raises(NotFound):
            transfers.view(w.ctx, w.prosecutor, f"00000000-0000-4000-8000-00000000000{n}")
    first = security_events.org_events(w.ctx, w.cps_admin, Window(limit=2))
    rest = security_events.org_events(w.ctx, w.cps_admin, Window(limit=2, after=first.next))
    assert len(first.events) == 2
    assert first.next is not None
    details = [e.detail for e in (*first.events, *rest.events) if e.type == "access:refused"]
    assert len(details) == len(set(details)) == 3  # each once, across the two pages

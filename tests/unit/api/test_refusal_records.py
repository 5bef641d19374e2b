"""Refused requests are recorded without limit on what they cost: identical ones are counted.

A flood of identical refusals (same actor or address, same item or route, same action
and reason, within a minute) writes the first record in full and one summary with the
exact count once the window closes, in the ledger and in the security events alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from custody.domain.people import Role
from custody.errors import NotFound
from custody.ledger.entry import Entry
from custody.services import items, refusal_records, reports, tokens
from custody.services.security_events import Origin, record_alone
from custody.services.watcher import run_watcher_once
from custody.store.ledger_models import LedgerHead
from custody.store.ledger_store import LedgerStore
from custody.store.models_security import RefusalTally, SecurityEvent
from support.in_process import InProcess, Member, in_process
from support.world import CPS, OTHER, POLICE

FLOOD = 160
BAD_TOKEN = {"Authorization": "Bearer cst_not-a-token-anyone-was-given"}


@dataclass
class Scene:
    w: InProcess
    officer: Member
    stranger: Member
    other_stranger: Member
    item: str
    second_item: str

    def download(self, member: Member, item: str | None = None) -> int:
        path = f"/api/v1/items/{item or self.item}/content"
        return int(self.w.client.get(path, headers=member.auth).status_code)

    def refused(self, item: str | None = None) -> list[Entry]:
        with self.w.ctx.unit_of_work() as session:
            trail = LedgerStore(session).item_trail(item or self.item)
        entries = [Entry.from_bytes(body) for _, body in trail]
        return [e for e in entries if e.type == "access:refused"]

    def ledger_size(self) -> int:
        with self.w.ctx.unit_of_work() as session:
            return int(session.scalar(select(LedgerHead.size)) or 0)

    def events(self, type_: str) -> list[SecurityEvent]:
        with self.w.ctx.unit_of_work() as session:
            return list(
                session.scalars(
                    select(SecurityEvent).where(SecurityEvent.type == type_).order_by(
                        SecurityEvent.at
                    )
                )
            )

    def close_windows(self) -> int:
        self.w.clock.advance(refusal_records.WINDOW + timedelta(seconds=1))
        return refusal_records.flush_closed(self.w.ctx)


def attempts(entries: list[Entry]) -> int:
    """Every refusal the entries stand for: a first is one, a summary its repeats."""
    return sum(int(e.data.get("repeats", 1)) for e in entries)


@pytest.fixture
def scene(tmp_path: Path, db_url: str) -> Iterator[Scene]:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        w.register_keys(officer)
        w.register_keys(w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR))
        stranger = w.add("stranger", "dc.smith@north.police.example", OTHER, Role.OFFICER)
        other = w.add("other", "dc.brown@north.police.example", OTHER, Role.OFFICER)
        first = w.transfer(officer, CPS, "47XX0000001", send=True)
        second = w.transfer(officer, CPS, "47XX0000002", send=True)
        yield Scene(w, officer, stranger, other, first["item"], second["item"])


def test_a_flood_of_refused_downloads_costs_two_entries_and_keeps_the_exact_count(
    scene: Scene,
) -> None:
    before = scene.ledger_size()
    assert all(scene.download(scene.stranger) == 404 for _ in range(FLOOD))
    (first,) = scene.refused()  # the first in full; the rest only counted
    assert first.data == {"action": "download", "reason": "not a reader"}
    assert scene.ledger_size() - before == 1
    assert scene.close_windows() == 1
    first_again, summary = scene.refused()
    assert first_again == first
    assert summary.actor == first.actor
    assert summary.data["repeats"] == FLOOD - 1
    assert (summary.data["action"], summary.data["reason"]) == ("download", "not a reader")
    assert attempts(scene.refused()) == FLOOD
    assert scene.ledger_size() - before == 2
    with scene.w.ctx.unit_of_work() as session:  # nothing left pending
        assert session.scalar(select(func.count()).select_from(RefusalTally)) == 0


def test_the_next_refusal_after_the_window_writes_the_summary_itself(scene: Scene) -> None:
    for _ in range(10):
        scene.download(scene.stranger)
    scene.w.clock.advance(refusal_records.WINDOW)  # closed: the window is [first, first + 60 s)
    assert scene.download(scene.stranger) == 404
    assert [e.data.get("repeats") for e in scene.refused()] == [None, 9, None]
    assert attempts(scene.refused()) == 11


def test_a_differing_refusal_summarises_windows_that_have_closed(scene: Scene) -> None:
    for _ in range(5):
        scene.download(scene.stranger)
    scene.w.clock.advance(timedelta(minutes=2))
    scene.download(scene.other_stranger, scene.second_item)  # someone else, elsewhere
    assert attempts(scene.refused()) == 5
    assert [e.data.get("repeats") for e in scene.refused()] == [None, 4]


def test_another_actor_or_item_is_never_folded_into_the_count(scene: Scene) -> None:
    for member, item, times in (
        (scene.stranger, scene.item, 5),
        (scene.other_stranger, scene.item, 3),
        (scene.stranger, scene.second_item, 4),
    ):
        for _ in range(times):
            assert scene.download(member, item) == 404
    ids = {m.email: tokens.authenticate(scene.w.ctx, m.token).user_id
           for m in (scene.stranger, scene.other_stranger)}
    assert sorted(e.actor for e in scene.refused()) == sorted(ids.values())
    assert [e.actor for e in scene.refused(scene.second_item)] == [ids[scene.stranger.email]]
    scene.close_windows()

    def count(member: Member, item: str) -> int:
        return attempts([e for e in scene.refused(item) if e.actor == ids[member.email]])

    assert count(scene.stranger, scene.item) == 5
    assert count(scene.other_stranger, scene.item) == 3
    assert count(scene.stranger, scene.second_item) == 4


def test_the_access_report_shows_the_refusals_and_their_count(scene: Scene) -> None:
    for _ in range(FLOOD):
        scene.download(scene.stranger)
    scene.close_windows()
    owner = tokens.authenticate(scene.w.ctx, scene.officer.token)
    refused = reports.access_report(scene.w.ctx, owner, scene.item).refused
    assert [r.user for r in refused] == [scene.stranger.email] * 2
    assert refused[0].address == "testclient"  # the first keeps where it came from
    assert [r.detail.get("repeats", 1) for r in refused] == [1, FLOOD - 1]


def test_a_flood_of_bad_tokens_costs_two_security_events_and_keeps_the_exact_count(
    scene: Scene,
) -> None:
    before = len(scene.events("access:denied"))
    for _ in range(FLOOD):
        assert scene.w.client.get("/api/v1/me", headers=BAD_TOKEN).status_code == 401
    assert scene.w.client.get("/api/v1/transfers/inbox", headers=BAD_TOKEN).status_code == 401
    denied = scene.events("access:denied")[before:]
    assert [e.detail for e in denied] == [
        "GET /api/v1/me: not_authenticated (authenticated)",
        "GET /api/v1/transfers/inbox: not_authenticated (content:read)",
    ]
    scene.close_windows()
    denied = scene.events("access:denied")[before:]
    assert len(denied) == 3
    me = [e for e in denied if "/api/v1/me" in (e.detail or "")]
    assert [e.occurrences for e in me] == [1, FLOOD - 1]
    assert (me[1].detail or "").startswith(f"{FLOOD - 1} more like this since ")
    assert sum(e.occurrences for e in denied) == FLOOD + 1


def test_many_connections_at_once_count_exactly(scene: Scene) -> None:
    """Several server processes share the database: the count lives in it, not in memory."""
    w = scene.w
    stranger = tokens.authenticate(w.ctx, scene.stranger.token)
    threads, per_thread = 8, 20
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def flood() -> None:
        start.wait()
        for _ in range(per_thread):
            try:
                items.start_download(w.ctx, stranger, scene.item, 0, None)
            except NotFound:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)
            record_alone(w.ctx, "access:denied", Origin("192.0.2.9"), detail="GET /x: test")

    workers = [threading.Thread(target=flood) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert failures == []
    assert len(scene.refused()) == 1
    scene.close_windows()
    assert attempts(scene.refused()) == threads * per_thread
    denied = [e for e in scene.events("access:denied") if e.address == "192.0.2.9"]
    assert len(denied) == 2
    assert sum(e.occurrences for e in denied) == threads * per_thread


def test_the_watcher_writes_the_summary_of_a_closed_window(scene: Scene) -> None:
    """With no later refusal to write it, the server's watcher pass does."""
    for _ in range(7):
        scene.download(scene.stranger)
    scene.w.clock.advance(refusal_records.WINDOW + timedelta(seconds=1))
    run_watcher_once(scene.w.ctx)
    assert [e.data.get("repeats") for e in scene.refused()] == [None, 6]

"""Telling people about transfers, through a real SMTP server (aiosmtpd): a new transfer to
its recipients, its receipt and acknowledgement to its sender; each person's choice of
e-mails; a transfer to a big organisation queued as one row and fanned out by the watcher."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.clock import FixedClock
from custody.domain.people import Role
from custody.services import items, notifications, outbox, transfers
from custody.services.notifications import Preferences
from custody.services.watcher import run_watcher_once
from custody.store.models import Case, Transfer
from custody.store.models_delivery import Alert
from support.mail import Mailbox
from support.world import CPS, T0, Cast, World, world_settings

PUBLIC = "https://custody.example"


@pytest.fixture
def w(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[Cast]:
    settings = world_settings(
        tmp_path / "data", db_url, smtp_host="127.0.0.1", smtp_port=mailbox.port,
        public_url=PUBLIC,
    )
    world = World.create(settings, FixedClock(T0))
    world.mail = mailbox
    cast = Cast.build(world)
    try:
        yield cast
    finally:
        world.close()


def _deliver(w: Cast) -> None:
    w.clock.advance(timedelta(seconds=1))
    run_watcher_once(w.ctx, worker="test")


def _urn_of(w: Cast, tid: str) -> str:
    with w.ctx.unit_of_work() as session:
        transfer = session.get_one(Transfer, tid)
        return session.get_one(Case, transfer.case_id).urn


def _receive_all(w: Cast, tid: str) -> None:
    for item in transfers.view(w.ctx, w.prosecutor, tid).items:
        items.record_receipt(w.ctx, w.prosecutor, str(item.id), "a" * 64, True, None)


def test_recipients_get_a_link_and_neither_file_name_nor_case(w: Cast) -> None:
    tid = w.transfer(items=2)
    urn = _urn_of(w, tid)
    # Queued with the send, in its transaction: the notice is there before any watcher pass.
    assert [n.kind for n in outbox.notices_for(w.ctx, w.prosecutor.user_id).notices] == [
        notifications.NEW
    ]
    assert w.smtp.messages == []
    _deliver(w)
    assert sorted(m["to"] for m in w.smtp.messages) == [
        "a.patel@cps.example",
        "b.okafor@cps.example",
    ]
    for message in w.smtp.messages:
        whole = message["subject"] + message["body"]
        assert f"{PUBLIC}/transfers/{tid}" in message["body"]
        assert "Thames Valley Police" in message["subject"]
        assert urn not in whole
        assert "case " not in whole.lower().replace("names no case", "")
        assert "item" not in whole.lower()  # not even how many files
    _deliver(w)  # never twice
    assert len(w.smtp.messages) == 2


def test_sender_is_told_of_receipt_and_acknowledgement(w: Cast) -> None:
    tid = w.transfer(items=2)
    _deliver(w)
    first = transfers.view(w.ctx, w.prosecutor, tid).items[0]
    items.record_receipt(w.ctx, w.prosecutor, str(first.id), "a" * 64, True, None)
    _deliver(w)
    assert [m for m in w.smtp.messages if m["to"] == "dc.jones@tvp.police.example"] == []
    _receive_all(w, tid)
    # A second recipient receiving it tells the sender nothing more.
    for item in transfers.view(w.ctx, w.prosecutor2, tid).items:
        items.record_receipt(w.ctx, w.prosecutor2, str(item.id), "a" * 64, True, None)
    transfers.acknowledge(w.ctx, w.prosecutor, tid)
    _deliver(w)
    told = [m for m in w.smtp.messages if m["to"] == "dc.jones@tvp.police.example"]
    assert sorted(m["subject"] for m in told) == [
        "Your transfer was acknowledged",
        "Your transfer was received",
    ]
    received = next(m for m in told if m["subject"].endswith("received"))
    assert "a.patel@cps.example" in received["body"]
    assert f"{PUBLIC}/transfers/{tid}" in received["body"]
    assert _urn_of(w, tid) not in received["body"]
    kinds = {n.kind for n in outbox.notices_for(w.ctx, w.officer.user_id).notices}
    assert kinds == {notifications.RECEIVED, notifications.ACKNOWLEDGED}


def test_each_person_chooses_their_emails_and_keeps_the_notices(w: Cast) -> None:
    notifications.set_preferences(w.ctx, w.prosecutor, Preferences(new_transfer=False))
    notifications.set_preferences(
        w.ctx, w.officer, Preferences(received=False, acknowledged=True)
    )
    assert notifications.preferences(w.ctx, w.prosecutor) == Preferences(new_transfer=False)
    assert notifications.preferences(w.ctx, w.prosecutor2) == Preferences()  # the default
    tid = w.transfer()
    _receive_all(w, tid)
    transfers.acknowledge(w.ctx, w.prosecutor, tid)
    _deliver(w)
    assert sorted((m["to"], m["subject"]) for m in w.smtp.messages) == [
        ("b.okafor@cps.example", "A transfer from Thames Valley Police has arrived for you"),
        ("dc.jones@tvp.police.example", "Your transfer was acknowledged"),
    ]
    # The in-app notices are not a choice: they are the record in the application.
    assert [n.kind for n in outbox.notices_for(w.ctx, w.prosecutor.user_id).notices] == [
        notifications.NEW
    ]


def test_a_big_organisation_is_one_row_at_send_and_everyone_is_told_by_the_watcher(
    w: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        w.world.add(f"p{n}", f"p{n}@cps.example", CPS, Role.PARALEGAL, keys=True)
    monkeypatch.setattr(notifications, "INLINE_LIMIT", 2)  # five recipients: past the limit
    monkeypatch.setattr(notifications, "FANOUT_BATCH", 2)  # and expanded two at a time
    tid = w.transfer()
    with w.ctx.unit_of_work() as session:
        rows = session.scalars(select(Alert).where(Alert.subject_id == tid)).all()
        assert [(r.channel, r.kind) for r in rows] == [("fanout", notifications.NEW)]
    for _ in range(3):
        _deliver(w)
    assert sorted(m["to"] for m in w.smtp.messages) == [
        "a.patel@cps.example",
        "b.okafor@cps.example",
        "p0@cps.example",
        "p1@cps.example",
        "p2@cps.example",
    ]
    _deliver(w)
    assert len(w.smtp.messages) == 5  # each once
    with w.ctx.unit_of_work() as session:
        fan = session.scalars(select(Alert).where(Alert.channel == "fanout")).one()
        assert fan.delivered_at is not None


def test_mail_server_down_at_send_loses_nothing(w: Cast, mailbox: Mailbox) -> None:
    mailbox.stop()
    w.transfer()
    _deliver(w)
    back = Mailbox(port=mailbox.port)
    try:
        w.clock.advance(timedelta(minutes=2))
        run_watcher_once(w.ctx, worker="test")
        assert sorted(m["to"] for m in back.messages) == [
            "a.patel@cps.example",
            "b.okafor@cps.example",
        ]
    finally:
        back.stop()


def test_an_overdue_alert_goes_out_before_news_of_transfers(
    w: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    w.transfer(ack=timedelta(hours=1))
    monkeypatch.setattr(outbox, "BATCH", 1)  # one e-mail a pass: which goes first?
    w.clock.advance(timedelta(hours=2))
    run_watcher_once(w.ctx, worker="test")  # raises the overdue alert, then delivers one
    assert len(w.smtp.messages) == 1
    assert w.smtp.messages[0]["subject"].startswith("Overdue")

"""The overdue watcher with a moved clock: real SMTP (aiosmtpd), real signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.ledger.entry import Entry
from custody.services import delivery, items, notifications, outbox, transfers, watcher
from custody.services.watcher import run_watcher_once
from custody.store.ledger_store import LedgerStore
from custody.store.models import Transfer
from custody.store.models_delivery import Alert, OrgWebhook
from support.mail import Mailbox, Webhooks
from support.world import Cast


@pytest.fixture
def world(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[tuple[Cast, Webhooks]]:
    hooks = Webhooks()
    w = Cast.create(tmp_path, db_url, mail=mailbox)
    try:
        hooks.secrets["/cps"] = outbox.set_webhook(w.ctx, w.cps_org, f"{hooks.url}/cps")
        hooks.secrets["/police"] = outbox.set_webhook(w.ctx, w.police_org, f"{hooks.url}/police")
        yield w, hooks
    finally:
        w.world.close()
        hooks.stop()


def _alerts(mailbox: Mailbox) -> list[dict[str, str]]:
    """What the watcher raised: not the e-mails about new transfers, their receipt or their
    acknowledgement (tests/unit/services/test_transfer_notifications.py)."""
    ours = ("A transfer from", "Your transfer was")
    return [m for m in mailbox.messages if not m["subject"].startswith(ours)]


def _tick(w: Cast, hooks: Webhooks, delta: timedelta) -> None:
    w.clock.advance(delta)
    hooks.now = int(w.clock.now().timestamp())
    run_watcher_once(w.ctx, worker="test")


def test_overdue_then_escalated_by_email_webhook_and_notice(world: tuple[Cast, Webhooks]) -> None:
    w, hooks = world
    tid = w.transfer(ack=timedelta(hours=24))
    _tick(w, hooks, timedelta(hours=23, minutes=59))
    assert _alerts(w.smtp) == []
    assert hooks.received == []

    _tick(w, hooks, timedelta(minutes=2))
    to = sorted(m["to"] for m in _alerts(w.smtp))
    assert to == [
        "a.patel@cps.example",
        "admin@cps.example",
        "b.okafor@cps.example",
        "dc.jones@tvp.police.example",
    ]
    assert all("never downloaded" in m["body"] for m in _alerts(w.smtp))
    assert all(tid in m["subject"] for m in _alerts(w.smtp))
    cps_hooks = [(b, ok) for b, ok in hooks.received if b["kind"] == "overdue"]
    assert len(cps_hooks) == 1
    assert cps_hooks[0][1] is True  # signature checks out
    assert cps_hooks[0][0]["transfer"] == tid
    assert cps_hooks[0][0]["delivered"] is False
    notices = outbox.notices_for(w.ctx, w.prosecutor.user_id).notices
    assert [n.kind for n in notices] == ["overdue", notifications.NEW]

    _tick(w, hooks, timedelta(hours=1))  # nothing new before the escalation period
    assert len(_alerts(w.smtp)) == 4

    _tick(w, hooks, timedelta(hours=23))
    escalated = sorted(m["to"] for m in _alerts(w.smtp) if "ESCALATED" in m["subject"])
    assert escalated == ["admin@cps.example", "admin@tvp.police.example"]
    assert all(ok for _, ok in hooks.received)
    assert sorted((b["path"], b["event"]) for b, _ in hooks.received) == [
        ("/cps", "transfer.escalated"),
        ("/cps", "transfer.overdue"),
        ("/police", "transfer.escalated"),
    ]

    _tick(w, hooks, timedelta(days=3))  # each alert exactly once, however often it runs
    assert len(_alerts(w.smtp)) == 6
    assert len(hooks.received) == 3
    with w.ctx.unit_of_work() as session:
        item_id = session.get_one(Transfer, tid).items[0].id
        history = [Entry.from_bytes(b) for _, b in LedgerStore(session).item_trail(item_id)]
    assert [e.data["kind"] for e in history if e.type == "alert:sent"] == ["overdue", "escalated"]


def test_delivered_but_unacknowledged_reads_differently(world: tuple[Cast, Webhooks]) -> None:
    w, hooks = world
    tid = w.transfer(ack=timedelta(hours=2))
    item = transfers.view(w.ctx, w.prosecutor, tid).items[0].id
    items.start_download(w.ctx, w.prosecutor, str(item), 0, None)
    _tick(w, hooks, timedelta(hours=3))
    assert _alerts(w.smtp)
    assert all("delivered but not acknowledged" in m["body"] for m in _alerts(w.smtp))


def test_acknowledged_or_revoked_transfer_raises_nothing(world: tuple[Cast, Webhooks]) -> None:
    w, hooks = world
    acked = w.transfer(ack=timedelta(hours=1))
    transfers.acknowledge(w.ctx, w.prosecutor, acked, without_receipt=True)
    revoked = w.transfer(ack=timedelta(hours=1))
    delivery.revoke(w.ctx, w.officer, revoked, "sent to the wrong unit")
    _tick(w, hooks, timedelta(days=5))
    # Only the revocation notices to the two recipients went out; no overdue alert for either.
    assert sorted(m["to"] for m in _alerts(w.smtp)) == [
        "a.patel@cps.example",
        "b.okafor@cps.example",
    ]
    assert all("Revoked" in m["subject"] for m in _alerts(w.smtp))
    assert [b["event"] for b, ok in hooks.received if ok] == ["transfer.revoked"]


def test_failed_webhook_is_retried_with_backoff(world: tuple[Cast, Webhooks]) -> None:
    w, hooks = world
    w.transfer(ack=timedelta(hours=1))
    hooks.fail_next = 1
    _tick(w, hooks, timedelta(hours=2))
    assert hooks.received == []
    with w.ctx.unit_of_work() as session:
        row = session.scalars(select(Alert).where(Alert.channel == "webhook")).one()
        assert row.attempts == 1
        assert row.delivered_at is None
        assert row.last_error
    _tick(w, hooks, timedelta(seconds=10))  # before the back-off: not yet
    assert hooks.received == []
    _tick(w, hooks, timedelta(minutes=2))
    assert len(hooks.received) == 1
    assert hooks.received[0][1]


def test_webhook_secret_is_sealed_at_rest(world: tuple[Cast, Webhooks]) -> None:
    w, hooks = world
    with w.ctx.unit_of_work() as session:
        stored = session.scalars(select(OrgWebhook.secret_sealed)).all()
    assert len(stored) == 2
    for secret in hooks.secrets.values():
        assert all(secret.encode() not in sealed for sealed in stored)
    # And it still signs: an overdue alert reaches the webhook with a valid signature.
    w.transfer(ack=timedelta(hours=1))
    _tick(w, hooks, timedelta(hours=2))
    assert hooks.received
    assert all(valid for _, valid in hooks.received)


def test_alerts_wait_while_smtp_is_down_and_go_out_once_when_it_returns(
    world: tuple[Cast, Webhooks], mailbox: Mailbox
) -> None:
    w, hooks = world
    w.transfer(ack=timedelta(hours=1))
    mailbox.stop()  # the mail server goes down before the deadline passes
    _tick(w, hooks, timedelta(hours=2))
    with w.ctx.unit_of_work() as session:
        emails = session.scalars(select(Alert).where(Alert.channel == "email")).all()
        assert emails
        assert all(a.attempts == 1 and a.delivered_at is None and a.last_error for a in emails)
        queued = len(emails)
    back = Mailbox(port=mailbox.port)  # the same server, back on its address
    try:
        _tick(w, hooks, timedelta(seconds=10))  # before the back-off: still waiting
        assert back.messages == []
        _tick(w, hooks, timedelta(minutes=2))
        assert len(back.messages) == queued  # the new-transfer e-mails too
        for _ in range(3):  # and never again, however often the watcher runs
            _tick(w, hooks, timedelta(hours=1))
        sent = [(m["to"], m["subject"], m["body"]) for m in _alerts(back)]
        assert len(sent) == len(set(sent))  # later alerts (escalation) may come; no repeat
        with w.ctx.unit_of_work() as session:
            assert all(a.delivered_at is not None for a in session.scalars(
                select(Alert).where(Alert.channel == "email")))
    finally:
        back.stop()


def test_a_backlog_is_raised_a_bounded_batch_at_a_time_each_alert_once(
    world: tuple[Cast, Webhooks], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raising holds the log's head until its transaction commits: a backlog goes in batches
    of ALERT_BATCH transfers, so other ledger writes get in between."""
    w, _ = world
    tids = [w.transfer(ack=timedelta(hours=1), items=2) for _ in range(5)]
    batches: list[int] = []
    raise_some = watcher._raise_transfer_alerts

    def counted(*args: object) -> int:
        batches.append(raise_some(*args))  # type: ignore[arg-type]
        return batches[-1]

    monkeypatch.setattr(watcher, "ALERT_BATCH", 2)
    monkeypatch.setattr(watcher, "_raise_transfer_alerts", counted)
    w.clock.advance(timedelta(days=3))  # overdue and escalated, both due at once
    passed = run_watcher_once(w.ctx, worker="test")
    assert passed.raised == 10  # five overdue, five escalated
    assert max(batches) <= 4  # two of each kind a transaction at most
    assert len(batches) >= 3
    again = run_watcher_once(w.ctx, worker="test")
    assert again.raised == 0
    with w.ctx.unit_of_work() as session:
        kinds = sorted(
            (e.transfer, e.data["kind"])
            for e in (
                Entry.from_bytes(body)
                for _, body in LedgerStore(session).entries_of(
                    [i.id for tid in tids for i in transfers.view(w.ctx, w.officer, tid).items],
                    "alert:sent",
                )
            )
        )
    assert kinds == sorted((t, k) for t in tids for k in ("escalated", "overdue") for _ in (1, 2))


def test_an_alert_with_nobody_to_tell_is_raised_once(world: tuple[Cast, Webhooks]) -> None:
    """Organisations without admins or webhooks: the escalation reaches nobody, and the
    watcher must not raise it again at every pass."""
    w, hooks = world
    message = outbox.Message("ESCALATED", "text", {"event": "transfer.escalated"})
    with w.ctx.unit_of_work() as session:
        reached = outbox.enqueue(w.ctx, session, subject_id="t-1", kind="escalated", people=[],
                                 org_ids=[], message=message)
        assert reached == []
        assert outbox.already_raised(session, "t-1", "escalated")
        rows = session.scalars(select(Alert).where(Alert.subject_id == "t-1")).all()
        assert [(r.channel, r.delivered_at is not None) for r in rows] == [("nobody", True)]
    assert outbox.deliver_due(w.ctx, "test", None, hooks) == 0  # and nothing to send

"""The overdue watcher: raise the alerts deadlines call for, end expired shares, deliver.

``run_watcher_once(ctx)`` does one pass from ``ctx.clock`` — tests call it after
moving the clock. ``Watcher`` runs it every ``watcher_interval_seconds`` inside
``custody serve``. Several server processes may share a database: raising
happens under a database lock (PostgreSQL advisory lock; SQLite's ``BEGIN
IMMEDIATE``) and the outbox's unique key, delivery under per-row claims, so
each alert goes out exactly once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, exists, select, text
from sqlalchemy.orm import Session

from custody.domain.deadlines import AlertKind, Pending, alerts_due, overdue_reason
from custody.domain.transfers import AWAITING_ACK, TransferState
from custody.ledger.events import EntryType
from custody.services import (
    incidents,
    notifications,
    outbox,
    refusal_records,
    retention,
    uploads,
)
from custody.services.access import end_access
from custody.services.alerts import HttpWebhookSender, Mailer, SmtpMailer, WebhookSender
from custody.services.context import Origin, ServiceContext
from custody.services.ledger import SYSTEM, record, record_items
from custody.services.security_events import record_event
from custody.store.models import Item, KeyWrap, Transfer, Upload, User
from custody.store.models_delivery import AccessGrant, Alert

log = logging.getLogger("custody.watcher")
_LOCK_KEY = 0x637573746F6479  # "custody": the one advisory lock the watcher takes
# Transfers whose alerts one transaction raises, of each kind. Every alert appends a ledger
# entry per item, and the log's head stays locked until the transaction commits: a backlog
# raised in one transaction (35,000 overdue transfers, 210,000 entries) stopped every other
# ledger write on every node for minutes (bench/scale.py).
ALERT_BATCH = 100


@dataclass(frozen=True)
class Pass:
    raised: int
    expired_shares: int
    delivered: int
    reminders: int = 0
    shredded: int = 0
    abandoned: int = 0


def _locked(session: Session) -> bool:
    """Take the watcher's lock for this transaction; False if another process holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already made this transaction the only writer
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    return bool(got.scalar_one())


def _message(transfer: Transfer, kind: AlertKind) -> outbox.Message:
    pending = Pending(TransferState(transfer.state), transfer.ack_deadline, transfer.delivered_at)
    why = overdue_reason(pending)
    due = f"{transfer.ack_deadline:%Y-%m-%d %H:%M} UTC" if transfer.ack_deadline else "-"
    head = "ESCALATED" if kind is AlertKind.ESCALATED else "Overdue"
    subject = f"{head}: transfer {transfer.id} (case {transfer.case.urn}) is not acknowledged"
    text_ = (
        f"Transfer {transfer.id} for case {transfer.case.urn} was due to be acknowledged by "
        f"{due}.\nIt is {why}.\n\nRecipients: receive it with `custody receive {transfer.id}` "
        f"and acknowledge it with `custody ack {transfer.id}`.\nSender and admins: check with "
        "the receiving unit; if the material may be lost, open an incident "
        f"(`custody incident open {transfer.id} --reason ...`).\n"
    )
    event: dict[str, object] = {
        "event": f"transfer.{kind.value}",
        "transfer": transfer.id,
        "case": transfer.case.urn,
        "state": transfer.state,
        "ack_deadline": transfer.ack_deadline,
        "delivered": transfer.delivered_at is not None,
        "reason": why,
    }
    return outbox.Message(subject, text_, event)


def _awaiting(session: Session, kind: AlertKind, cutoff: datetime, limit: int) -> list[Transfer]:
    """Up to ``limit`` transfers awaiting acknowledgement whose deadline passed by ``cutoff``
    and that have no ``kind`` alert yet (an escalation only once its overdue alert is out),
    oldest deadline first: found by the query, not by visiting every overdue transfer."""

    def raised(k: AlertKind) -> Exists:
        return exists().where(Alert.subject_id == Transfer.id, Alert.kind == k.value)

    query = select(Transfer).where(
        Transfer.state.in_([s.value for s in AWAITING_ACK]),
        Transfer.ack_deadline <= cutoff,
        ~raised(kind),
    )
    if kind is AlertKind.ESCALATED:
        query = query.where(raised(AlertKind.OVERDUE))
    return list(session.scalars(query.order_by(Transfer.ack_deadline, Transfer.id).limit(limit)))


def _raise_transfer_alerts(ctx: ServiceContext, session: Session, limit: int) -> int:
    """Raise at most ``limit`` due alerts of each kind in this transaction; how many."""
    now = ctx.clock.now()
    escalation = timedelta(hours=ctx.settings.escalation_hours)
    cutoffs = {AlertKind.OVERDUE: now, AlertKind.ESCALATED: now - escalation}
    # The ledger entries are appended last, together: the log's head stays locked from the
    # first append to the commit, so the rows and queries come before it.
    entries: list[tuple[Transfer, dict[str, object]]] = []
    for kind, cutoff in cutoffs.items():  # overdue first: a transfer escalates after it
        for transfer in _awaiting(session, kind, cutoff, limit):
            pending = Pending(
                TransferState(transfer.state), transfer.ack_deadline, transfer.delivered_at
            )
            if kind not in alerts_due(pending, now, escalation):
                continue  # the domain's rule has the last word on what is due
            if kind is AlertKind.OVERDUE:
                ids = [transfer.sender_id, *(r.user_id for r in transfer.recipients)]
                people = [*session.scalars(select(User).where(User.id.in_(ids)))]
                people += outbox.org_admins(session, transfer.recipient_org_id)
                orgs = [transfer.recipient_org_id]
            else:
                orgs = [transfer.recipient_org_id, transfer.sender_org_id]
                people = [a for o in orgs for a in outbox.org_admins(session, o)]
            reached = outbox.enqueue(
                ctx,
                session,
                subject_id=transfer.id,
                kind=kind.value,
                people=people,
                org_ids=orgs,
                message=_message(transfer, kind),
            )
            delivered = pending.delivered_at is not None
            entries.append((transfer, {"kind": kind.value, "to": reached, "delivered": delivered}))
    for transfer, data in entries:
        record_items(ctx, session, EntryType.ALERT_SENT, SYSTEM, transfer.items, data=data)
    return len(entries)


def _end_expired_shares(ctx: ServiceContext, session: Session) -> int:
    now = ctx.clock.now()
    grants = session.scalars(
        select(AccessGrant).where(
            AccessGrant.kind == "share",
            AccessGrant.ended_at.is_(None),
            AccessGrant.expires_at <= now,
        )
    ).all()
    for grant in grants:
        wrap = session.get(KeyWrap, grant.id)
        end_access(
            session,
            [wrap] if wrap else [],
            kind="expired",
            by=SYSTEM,
            reason="the share's expiry passed",
            at=now,
        )
        if wrap is None:
            grant.ended_at, grant.ended_by, grant.end_kind = now, SYSTEM, "expired"
        item_case = session.scalar(select(Item.case_id).where(Item.id == grant.item_id))
        record(
            ctx,
            session,
            EntryType.ITEM_SHARE_EXPIRED,
            SYSTEM,
            case=item_case,
            item=grant.item_id,
            data={"reader": grant.reader_user_id},
        )
    return len(grants)


def abort_abandoned_uploads(ctx: ServiceContext) -> int:
    """Abort every upload neither finished nor terminated ``upload_abandon_days`` after it
    began: its multipart upload (S3) or staged file removed, its row deleted, and a
    ``upload:abandoned`` security event for its sender's organisation. The item stays a
    draft's, awaiting a new upload. Each is taken under its row's lock, skipped while a
    ``PATCH`` holds it (PostgreSQL ``SKIP LOCKED``), so several nodes abort each once."""
    cutoff = ctx.clock.now() - timedelta(days=ctx.settings.upload_abandon_days)
    with ctx.unit_of_work() as session:
        candidates = list(session.scalars(
            select(Upload.id).where(Upload.finished_at.is_(None), Upload.created_at < cutoff)
            .order_by(Upload.created_at).limit(100)))
    aborted = 0
    for upload_id in candidates:
        with ctx.unit_of_work() as session:
            query = select(Upload).where(Upload.id == upload_id, Upload.finished_at.is_(None))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            upload = session.scalar(query)
            if upload is None:  # finished, terminated, or being written or aborted elsewhere
                continue
            item = session.get(Item, upload.item_id)
            sender = session.get(User, upload.user_id)
            if item is not None and item.upload_id == upload.id:
                item.upload_id = None
            days = (ctx.clock.now() - upload.created_at).days
            session.delete(upload)
            session.flush()
            record_event(ctx, session, "upload:abandoned", Origin(), user_id=upload.user_id,
                         org_id=sender.org_id if sender else None,
                         detail=f"upload {upload.id} of item {upload.item_id} aborted "
                         f"{days} days after it began, unfinished")
            # Last: a store that fails rolls the row back, and the next pass tries again.
            ctx.blobs.abort_upload(upload.id)
            if item is not None and item.blob_key is None:
                # Published by a node that died before recording it: nobody resumed it.
                uploads.discard_unrecorded(ctx, item.id)
        aborted += 1
    if aborted:
        log.warning("aborted %d abandoned upload(s) (CUSTODY_UPLOAD_ABANDON_DAYS)", aborted)
    return aborted


def run_watcher_once(
    ctx: ServiceContext,
    *,
    mailer: Mailer | None = None,
    hooks: WebhookSender | None = None,
    worker: str | None = None,
) -> Pass:
    """One pass: raise due alerts and regulator reminders, end expired shares (under the
    lock); shred what retention says and abort abandoned uploads (row locks); summarise
    refusals whose window closed; then deliver."""
    raised = expired = reminders = 0
    with ctx.unit_of_work() as session:
        if not _locked(session):
            batch = 0  # another node is raising them
        else:
            raised = batch = _raise_transfer_alerts(ctx, session, ALERT_BATCH)
            expired = _end_expired_shares(ctx, session)
            reminders = incidents.raise_reminders(ctx, session)
            notifications.fan_out(ctx, session)  # new transfers to big units and organisations
    while batch:  # a backlog (a watcher that was down, an import): a bounded batch at a time
        with ctx.unit_of_work() as session:
            batch = _raise_transfer_alerts(ctx, session, ALERT_BATCH) if _locked(session) else 0
        raised += batch
    shredded = retention.sweep(ctx)
    abandoned = abort_abandoned_uploads(ctx)
    refusal_records.flush_closed(ctx)  # a flood's count, written once its window closed
    if mailer is None and ctx.settings.smtp_host:
        mailer = SmtpMailer(ctx.settings)
    delivered = outbox.deliver_due(
        ctx, worker or worker_id(), mailer, hooks or HttpWebhookSender()
    )
    return Pass(raised, expired, delivered, reminders, shredded, abandoned)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]


class Periodic:
    """Calls :meth:`tick` every ``interval`` seconds on a thread of its own, from
    :meth:`start` until :meth:`stop` (which waits up to ``patience`` seconds for a tick)."""

    def __init__(self, name: str, interval: float, patience: float) -> None:
        self._interval, self._patience = interval, patience
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._patience)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()


class NodeJob(Periodic):
    """A pass every node makes on the watcher's interval, as a worker of its own (the id its
    claims on shared work carry). A pass that fails is logged with its traceback as
    ``failed``, on the job's own ``logger``: it must not stop the next one."""

    def __init__(
        self,
        ctx: ServiceContext,
        name: str,
        *,
        patience: float,
        logger: logging.Logger,
        failed: str,
    ) -> None:
        super().__init__(name, ctx.settings.watcher_interval_seconds, patience)
        self._ctx = ctx
        self._worker = worker_id()
        self._logger, self._failed = logger, failed

    def run_once(self) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        try:
            self.run_once()
        except Exception:  # the next tick tries again
            self._logger.exception(self._failed)


class Watcher(NodeJob):
    """Runs ``run_watcher_once`` in the background of ``custody serve``."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx, "watcher", patience=20, logger=log, failed="watcher pass failed")

    def run_once(self) -> None:
        run_watcher_once(self._ctx, worker=self._worker)

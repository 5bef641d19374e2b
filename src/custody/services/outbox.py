"""The alert outbox: raise an alert once, deliver it until it succeeds, never twice.

Raising inserts one row per recipient — unique on (subject, kind, recipient) —
in the same transaction as the alert's ledger entry. Delivering claims a row
with a conditional UPDATE (only one process can win it), sends, and stamps it
delivered; a failed attempt backs off; a process that dies after claiming
leaves a claim that expires, so the alert is re-sent rather than lost.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from custody.crypto.at_rest import AtRestKey
from custody.domain.people import Role
from custody.errors import InvalidInput
from custody.protocol.assurance import AlertNoticeOut, NoticePage
from custody.services.alerts import DeliveryFailed, Email, Mailer, WebhookSender
from custody.services.context import ServiceContext
from custody.services.paging import Window, newest_first, next_cursor
from custody.store.models import User
from custody.store.models_delivery import Alert, OrgWebhook

log = logging.getLogger("custody.alerts")
CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BATCH = 100
# One row standing for many: "tell every recipient of this transfer", queued when a transfer
# to a big unit or organisation is sent and expanded into their rows by the watcher
# (custody.services.notifications), so sending never waits on thousands of inserts.
FANOUT = "fanout"
# The row of an alert raised with nobody to tell: stored as delivered, never sent.
NOBODY = "nobody"
# Alerts before routine news: notifications of transfers (kinds "transfer:...") are sent
# after every alert that is due, so a transfer to thousands never delays an overdue alert.
_ROUTINE = case((Alert.kind.like("transfer:%"), 1), else_=0)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    event: dict[str, object]  # the webhook's JSON body


def org_admins(session: Session, org_id: str) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.org_id == org_id, User.role == Role.ADMIN.value, User.disabled.is_(False)
            )
        )
    )


def already_raised(session: Session, subject_id: str, kind: str) -> bool:
    found = session.scalar(
        select(Alert.id).where(Alert.subject_id == subject_id, Alert.kind == kind).limit(1)
    )
    return found is not None


def enqueue(
    ctx: ServiceContext,
    session: Session,
    *,
    subject_id: str,
    kind: str,
    people: Iterable[User],
    org_ids: Iterable[str],
    message: Message,
    email: bool = True,
    email_to: Collection[str] | None = None,
) -> list[str]:
    """Queue ``message`` to each person (notice, and e-mail if SMTP is set) and each org's
    webhook; return the user ids it reaches (for the ledger entry). ``email_to``: only these
    people (by id) are e-mailed, the others get the notice alone (their own choice)."""
    now = ctx.clock.now()
    users = {u.id: u for u in people}
    rows: list[tuple[str, str]] = []
    for user in users.values():
        rows.append(("notice", f"notice:{user.id}"))
        wanted = email_to is None or user.id in email_to
        if email and wanted and ctx.settings.smtp_host:
            rows.append(("email", f"email:{user.email}"))
    for org_id in dict.fromkeys(org_ids):
        if session.get(OrgWebhook, org_id) is not None:
            rows.append(("webhook", f"webhook:{org_id}"))
    if not rows:
        # Nobody to tell (an escalation to organisations without admins): the row still
        # records that it was raised, or every pass of the watcher would raise it again.
        rows.append((NOBODY, NOBODY))
    payload = json.dumps(
        {"subject": message.subject, "text": message.text, "event": message.event},
        sort_keys=True,
        default=str,
    )
    for channel, recipient in rows:
        notice = channel in ("notice", NOBODY)  # delivered by being stored
        session.add(
            Alert(
                subject_id=subject_id,
                kind=kind,
                recipient=recipient,
                channel=channel,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
                delivered_at=now if notice else None,
            )
        )
    session.flush()
    return sorted(users)


def _claim(ctx: ServiceContext, alert_id: str, worker: str) -> Alert | None:
    now = ctx.clock.now()
    with ctx.unit_of_work() as session:
        won = session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.delivered_at.is_(None),
                Alert.failed_at.is_(None),
                (Alert.claimed_by.is_(None)) | (Alert.claimed_at < now - CLAIM_LEASE),
            )
            .values(claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
            return None
        return session.get(Alert, alert_id)


def _send(ctx: ServiceContext, alert: Alert, mailer: Mailer | None, hooks: WebhookSender) -> None:
    body = json.loads(alert.payload)
    if alert.channel == "email":
        if mailer is None:
            raise DeliveryFailed("no SMTP server is configured")
        mailer.send(Email(alert.recipient.removeprefix("email:"), body["subject"], body["text"]))
    elif alert.channel == "webhook":
        with ctx.unit_of_work() as session:
            hook = session.get(OrgWebhook, alert.recipient.removeprefix("webhook:"))
            if hook is None:
                raise DeliveryFailed("the organisation's webhook was removed")
            url, secret = hook.url, _webhook_key(ctx).open(hook.secret_sealed, hook.org_id).decode()
        event = {**body["event"], "alert_id": alert.id, "kind": alert.kind}
        data = json.dumps(event, sort_keys=True, default=str).encode()
        hooks.post(url, secret, data, int(ctx.clock.now().timestamp()))


def deliver_due(
    ctx: ServiceContext, worker: str, mailer: Mailer | None, hooks: WebhookSender
) -> int:
    """Deliver every alert that is due; return how many were delivered now."""
    now = ctx.clock.now()
    with ctx.unit_of_work() as session:
        due = list(
            session.scalars(
                select(Alert.id)
                .where(
                    Alert.delivered_at.is_(None),
                    Alert.failed_at.is_(None),
                    Alert.next_attempt_at <= now,
                    Alert.channel != FANOUT,  # expanded by the watcher, not sent
                )
                .order_by(_ROUTINE, Alert.created_at)
                .limit(BATCH)
            )
        )
    delivered = 0
    for alert_id in due:
        alert = _claim(ctx, alert_id, worker)
        if alert is None:
            continue  # another process has it
        error = None
        try:
            _send(ctx, alert, mailer, hooks)
        except DeliveryFailed as exc:
            error = str(exc)[:300]
        _settle(ctx, alert.id, alert.attempts + 1, error)
        delivered += error is None
    return delivered


def _settle(ctx: ServiceContext, alert_id: str, attempts: int, error: str | None) -> None:
    now: datetime = ctx.clock.now()
    with ctx.unit_of_work() as session:
        alert = session.get_one(Alert, alert_id)
        alert.attempts, alert.claimed_by, alert.claimed_at = attempts, None, None
        if error is None:
            alert.delivered_at = now
            return
        alert.last_error = error
        if attempts >= MAX_ATTEMPTS:
            alert.failed_at = now
            log.error("alert %s to %s abandoned: %s", alert.id, alert.recipient, error)
        else:
            alert.next_attempt_at = now + min(
                timedelta(seconds=30 * 2**attempts), timedelta(hours=1)
            )
            log.warning(
                "alert %s to %s failed (attempt %d): %s", alert.id, alert.recipient, attempts, error
            )


def notices_for(ctx: ServiceContext, user_id: str, window: Window | None = None) -> NoticePage:
    """The in-app notices of one person, newest first, a page at a time."""
    with ctx.unit_of_work() as session:
        query = select(Alert).where(Alert.recipient == f"notice:{user_id}")
        rows, more = newest_first(session, query, Alert.created_at, Alert.id, window or Window())
        alerts = [row[0] for row in rows]
        return NoticePage(
            notices=[_notice(a) for a in alerts],
            next=next_cursor(alerts, more, lambda a: (a.created_at, a.id)),
        )


def _notice(alert: Alert) -> AlertNoticeOut:
    payload = json.loads(alert.payload)
    return AlertNoticeOut(
        id=alert.id,
        kind=alert.kind,
        subject_id=alert.subject_id,
        at=alert.created_at,
        subject=str(payload.get("subject", "")),
        text=str(payload.get("text", "")),
    )


def set_webhook(ctx: ServiceContext, org_id: str, url: str) -> str:
    """Point an organisation's alerts at ``url`` with a fresh signing secret; return it."""
    parsed = urlsplit(url)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise InvalidInput(f"{url!r} is not a web address", hint="give https://host/path")
    if parsed.scheme == "http" and not loopback and ctx.settings.mode != "development":
        raise InvalidInput(
            "a webhook must use https", hint="alerts name cases; do not send them in clear"
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    sealed = _webhook_key(ctx).seal(secret.encode(), org_id)
    with ctx.unit_of_work() as session:
        hook = session.get(OrgWebhook, org_id)
        if hook is None:
            session.add(
                OrgWebhook(org_id=org_id, url=url, secret_sealed=sealed, created_at=ctx.clock.now())
            )
        else:
            hook.url, hook.secret_sealed = url, sealed
    return secret


def _webhook_key(ctx: ServiceContext) -> AtRestKey:
    """The at-rest key for webhook signing secrets (its own purpose label)."""
    return AtRestKey(ctx.server_secret, "webhook signing secret")

"""Incidents: material may be lost or exposed. Withdraw every reader but the owners at once,
freeze sharing, start the regulator's clock, and say what was affected and who accessed it.

Owners are the sender and the organisations' recovery keys: their wraps stay so the
material can still be examined. While an incident is open, nobody but the sender
can fetch anything in scope (``items.refusal`` consults ``access.open_incident``)
and nothing in scope can be shared.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from custody.domain.deadlines import reminders_due
from custody.domain.people import Role
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Conflict, Forbidden, NotFound
from custody.ledger.events import EntryType
from custody.protocol.assurance import ImpactItemOut, ImpactOut, IncidentPage
from custody.services import outbox, reports
from custody.services.context import Actor, ServiceContext
from custody.services.delivery import check_reason, withdraw
from custody.services.ledger import SYSTEM, record, record_items
from custody.services.paging import Window, newest_first, next_cursor
from custody.store.db import lookup
from custody.store.models import Item, Transfer, TransferRecipient, User
from custody.store.models_delivery import Incident, ItemSubject


def _may(actor: Actor, transfer: Transfer) -> bool:
    """The sender, the recipients, and admins of either unit."""
    if actor.user_id == transfer.sender_id or any(
        r.user_id == actor.user_id for r in transfer.recipients
    ):
        return True
    return actor.role == Role.ADMIN.value and actor.org_id in (
        transfer.sender_org_id,
        transfer.recipient_org_id,
    )


def _scope(session: Session, actor: Actor, ref: str) -> tuple[Transfer, Item | None]:
    item = session.get(Item, ref)
    transfer = item.transfer if item else session.get(Transfer, ref)
    if transfer is None or not _may(actor, transfer) or transfer.state == TransferState.DRAFT:
        raise NotFound(f"no item or transfer {ref}")
    return transfer, item


def open_incident(ctx: ServiceContext, actor: Actor, ref: str, reason: str) -> ImpactOut:
    """Open an incident on a transfer or one item; its impact as it stands once opened."""
    reason = check_reason(reason)
    with ctx.unit_of_work() as session:
        transfer, item = _scope(session, actor, ref)
        existing = session.scalar(
            select(Incident).where(
                Incident.transfer_id == transfer.id, Incident.closed_at.is_(None)
            )
        )
        if existing is not None and existing.scope_item_id in (None, item.id if item else None):
            raise Conflict(
                f"incident {existing.id} is already open on this",
                hint=f"see it with `custody incident show {existing.id}`",
            )
        if item is None:
            transfer.state = next_state(TransferState(transfer.state), Event.COMPROMISE).value
        elif transfer.state in (TransferState.CANCELLED, TransferState.EXPIRED):
            raise Conflict(
                f"cannot open an incident on this item: the transfer is {transfer.state}"
            )
        now = ctx.clock.now()
        incident = Incident(
            transfer_id=transfer.id,
            scope_item_id=item.id if item else None,
            reason=reason,
            opened_by=actor.user_id,
            opened_at=now,
            regulator_deadline=now + timedelta(hours=ctx.settings.regulator_deadline_hours),
        )
        session.add(incident)
        session.flush()
        items = [item] if item else list(transfer.items)
        data = {"incident": incident.id}
        people = withdraw(ctx, session, actor, transfer, reason, "incident", items, data)
        admins = [
            a
            for o in (transfer.sender_org_id, transfer.recipient_org_id)
            for a in outbox.org_admins(session, o)
        ]
        outbox.enqueue(
            ctx,
            session,
            subject_id=incident.id,
            kind="opened",
            people=[*people, *admins],
            org_ids=[transfer.sender_org_id, transfer.recipient_org_id],
            message=outbox.Message(
                f"Incident {incident.id}: case {transfer.case.urn}",
                f"{actor.email} opened incident {incident.id} on transfer {transfer.id} (case "
                f"{transfer.case.urn}): {reason}\nAccess by everyone but the sender is "
                "withdrawn. The regulator must be told by "
                f"{incident.regulator_deadline:%Y-%m-%d %H:%M} UTC.\n",
                {
                    "event": "incident.opened",
                    "incident": incident.id,
                    "transfer": transfer.id,
                    "case": transfer.case.urn,
                    "regulator_deadline": incident.regulator_deadline,
                },
            ),
        )
        session.flush()
        return _impact_of(session, incident)


def _in_scope(transfer: Transfer, incident: Incident) -> list[Item]:
    """The items an incident is about: the one it names, or all of its transfer's."""
    return [i for i in transfer.items if incident.scope_item_id in (None, i.id)]


def _own(session: Session, actor: Actor, incident_id: str) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or not _may(actor, session.get_one(Transfer, incident.transfer_id)):
        raise NotFound(f"no incident {incident_id}")
    return incident


def incidents_of(ctx: ServiceContext, actor: Actor, window: Window | None = None) -> IncidentPage:
    """The incidents the actor may read (``_may``: on a transfer they sent or received, or,
    for an admin, one of their organisation's), newest opened first, each its impact report."""
    received = select(TransferRecipient.transfer_id).where(
        TransferRecipient.user_id == actor.user_id
    )
    theirs = [Transfer.sender_id == actor.user_id, Transfer.id.in_(received)]
    if actor.role == Role.ADMIN.value:
        theirs += [
            Transfer.sender_org_id == actor.org_id,
            Transfer.recipient_org_id == actor.org_id,
        ]
    stmt = select(Incident).join(Transfer, Transfer.id == Incident.transfer_id).where(or_(*theirs))
    with ctx.unit_of_work() as session:
        rows, more = newest_first(
            session, stmt, Incident.opened_at, Incident.id, window or Window()
        )
        found: list[Incident] = [row[0] for row in rows]
        return IncidentPage(
            incidents=[_impact_of(session, i) for i in found],
            next=next_cursor(found, more, lambda i: (i.opened_at, i.id)),
        )


def _mark(ctx: ServiceContext, actor: Actor, incident_id: str, what: str) -> ImpactOut:
    with ctx.unit_of_work() as session:
        incident = _own(session, actor, incident_id)
        transfer = session.get_one(Transfer, incident.transfer_id)
        if actor.role != Role.ADMIN.value and actor.user_id != incident.opened_by:
            raise Forbidden(f"only an admin or whoever opened incident {incident.id} can do this")
        now = ctx.clock.now()
        if what == "reported":
            if incident.reported_at is not None:
                raise Conflict(
                    f"incident {incident.id} was already marked reported on "
                    f"{incident.reported_at:%Y-%m-%d %H:%M} UTC"
                )
            incident.reported_at, incident.reported_by = now, actor.user_id
        else:
            if incident.closed_at is not None:
                raise Conflict(f"incident {incident.id} is already closed")
            incident.closed_at, incident.closed_by = now, actor.user_id
        record_items(
            ctx,
            session,
            EntryType.INCIDENT_REPORTED if what == "reported" else EntryType.INCIDENT_CLOSED,
            actor,
            _in_scope(transfer, incident),
            data={"incident": incident.id},
        )
        session.flush()
        return _impact_of(session, incident)


def mark_reported(ctx: ServiceContext, actor: Actor, incident_id: str) -> ImpactOut:
    return _mark(ctx, actor, incident_id, "reported")


def close(ctx: ServiceContext, actor: Actor, incident_id: str) -> ImpactOut:
    return _mark(ctx, actor, incident_id, "closed")


def impact(ctx: ServiceContext, actor: Actor, incident_id: str) -> ImpactOut:
    """Items, case, data subjects, who could and who did access, and the regulator deadline,
    read in one transaction."""
    with ctx.unit_of_work() as session:
        incident = _own(session, actor, incident_id)
        return _impact_of(session, incident)


def _impact_of(session: Session, incident: Incident) -> ImpactOut:
    transfer = session.get_one(Transfer, incident.transfer_id)
    in_scope = _in_scope(transfer, incident)
    subjects = sorted(
        set(
            session.scalars(
                select(ItemSubject.reference).where(
                    ItemSubject.item_id.in_([i.id for i in in_scope])
                )
            )
        )
    )
    named = {incident.opened_by, incident.reported_by, incident.closed_by} - {None}
    emails = lookup(session, User.id, User.email, named)

    def email(user_id: str | None) -> str | None:
        return emails.get(user_id, "?") if user_id else None

    return ImpactOut(
        id=incident.id,
        transfer=transfer.id,
        case=transfer.case.urn,
        scope="item" if incident.scope_item_id else "transfer",
        reason=incident.reason,
        opened_at=incident.opened_at,
        opened_by=email(incident.opened_by) or "?",
        regulator_deadline=incident.regulator_deadline,
        reported_at=incident.reported_at,
        reported_by=email(incident.reported_by),
        closed_at=incident.closed_at,
        closed_by=email(incident.closed_by),
        data_subjects=subjects,
        items=[ImpactItemOut.model_validate(reports.report_of(session, i)) for i in in_scope],
    )


def raise_reminders(ctx: ServiceContext, session: Session) -> int:
    """Regulator reminders (24h, 48h, 66h, then due) for open incidents not yet reported."""
    now = ctx.clock.now()
    raised = 0
    for incident in session.scalars(
        select(Incident).where(Incident.reported_at.is_(None), Incident.closed_at.is_(None))
    ):
        marks = [m for m in reminders_due(incident.opened_at, now, False) if m != "due"]
        if now >= incident.regulator_deadline:
            marks.append("due")
        transfer = session.get_one(Transfer, incident.transfer_id)
        for mark in marks:
            kind = f"regulator:{mark}"
            if outbox.already_raised(session, incident.id, kind):
                continue
            orgs = [transfer.sender_org_id, transfer.recipient_org_id]
            people = [a for o in orgs for a in outbox.org_admins(session, o)]
            people += session.scalars(select(User).where(User.id == incident.opened_by)).all()
            due = f"{incident.regulator_deadline:%Y-%m-%d %H:%M} UTC"
            head = "OVERDUE" if mark == "due" else "Reminder"
            reached = outbox.enqueue(
                ctx,
                session,
                subject_id=incident.id,
                kind=kind,
                people=people,
                org_ids=orgs,
                message=outbox.Message(
                    f"{head}: incident {incident.id} must be reported to the regulator by {due}",
                    f"Incident {incident.id} (case {transfer.case.urn}) opened "
                    f"{incident.opened_at:%Y-%m-%d %H:%M} UTC is not yet marked reported. "
                    f"The regulator must be told by {due}.\nOnce reported, run "
                    f"`custody incident reported {incident.id}`.\n",
                    {
                        "event": "incident.reminder",
                        "incident": incident.id,
                        "mark": mark,
                        "regulator_deadline": incident.regulator_deadline,
                    },
                ),
            )
            record(
                ctx,
                session,
                EntryType.ALERT_SENT,
                SYSTEM,
                case=transfer.case_id,
                transfer=transfer.id,
                item=incident.scope_item_id,
                data={"kind": kind, "incident": incident.id, "to": reached},
            )
            raised += 1
    return raised

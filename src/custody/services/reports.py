"""The access report of an item: who could read it, who did, and who was refused.

Every line carries the ledger index of the entry that proves it; addresses and
user agents come from ``access_records``, kept beside the ledger (they are
personal data, so never in it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.people import Role
from custody.domain.transfers import TransferState
from custody.errors import NotFound
from custody.ledger import people
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.protocol.assurance import AccessLineOut, GrantOut, ReportOut
from custody.services import notes
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import SYSTEM
from custody.services.trail_access import unit_admin_reaches
from custody.store.db import lookup
from custody.store.ledger_store import LedgerStore
from custody.store.models import AccessRecord, Item, Organisation, Transfer, User
from custody.store.models_delivery import AccessGrant

ACCESS_TYPES = (
    EntryType.ITEM_DOWNLOADED,
    EntryType.ITEM_VIEWED,
    EntryType.ITEM_RECEIVED,
    EntryType.ITEM_VERIFICATION_FAILED,
    EntryType.TRANSFER_ACKNOWLEDGED,
)
GRANT_TYPES = {
    "transfer": EntryType.ITEM_SEALED,
    "recovery": EntryType.ITEM_SEALED,
    "share": EntryType.ITEM_SHARED,
}
END_TYPES = {
    "revoked": EntryType.TRANSFER_REVOKED,
    "expired": EntryType.ITEM_SHARE_EXPIRED,
    "incident": EntryType.INCIDENT_OPENED,
    "shredded": EntryType.ITEM_SHREDDED,
}


def may_report(session: Session, actor: Actor, item: Item) -> bool:
    """The sender; once it is sent (a draft is nobody else's business, as for trails): the
    transfer's recipients, admins or auditors of either organisation, and unit admins of the
    sending or receiving unit."""
    transfer = item.transfer
    if actor.user_id == transfer.sender_id:
        return True
    if transfer.state == TransferState.DRAFT:
        return False
    if any(r.user_id == actor.user_id for r in transfer.recipients):
        return True
    if actor.role == Role.UNIT_ADMIN:
        return unit_admin_reaches(session, actor, transfer)
    return actor.role in (Role.ADMIN.value, Role.AUDITOR.value) and actor.org_id in (
        transfer.sender_org_id,
        transfer.recipient_org_id,
    )


class _Readers:
    """Who each entry of a trail names as readers (``readers``, inline or spelled out in the
    trail's ``people:part`` entries, each list read once; or one ``reader``)."""

    def __init__(self, trail: list[tuple[int, Entry]]) -> None:
        self.trail = trail
        self._parts = dict(trail)
        self._named: dict[int, frozenset[str] | None] = {}

    def of(self, index: int, entry: Entry) -> frozenset[str] | None:
        if index not in self._named:
            listed = people.named(index, entry, "readers", self._parts)
            one = entry.data.get("reader")
            self._named[index] = (
                frozenset(listed) if listed is not None
                else frozenset([one]) if isinstance(one, str) else None
            )
        return self._named[index]

    def first(self, type_: str, reader: str | None) -> int | None:
        """The first entry of ``type_`` (naming ``reader``, if the entry names readers)."""
        for index, entry in self.trail:
            if entry.type != type_:
                continue
            readers = self.of(index, entry)
            if reader is None or not readers or reader in readers:
                return index
        return None


def access_report(ctx: ServiceContext, actor: Actor, item_id: str) -> ReportOut:
    """Who could read the item, who did, who was refused: for those who may ask."""
    with ctx.unit_of_work() as session:
        item = session.get(Item, item_id)
        if item is None or not may_report(session, actor, item):
            raise NotFound(
                f"no item {item_id}", hint="you can report on items you sent or received"
            )
        return report_of(session, item)


def report_of(session: Session, item: Item) -> ReportOut:
    """The report of ``item``, in the caller's transaction, reading only the rows it names."""
    trail = [(i, Entry.from_bytes(b)) for i, b in LedgerStore(session).item_trail(item.id)]
    named = _Readers(trail)
    grants = list(
        session.scalars(
            select(AccessGrant)
            .where(AccessGrant.item_id == item.id)
            .order_by(AccessGrant.granted_at)
        )
    )
    user_ids = {e.actor for _, e in trail} | {
        u for g in grants for u in (g.reader_user_id, g.granted_by, g.ended_by) if u
    }
    users = lookup(session, User.id, User.email, user_ids)
    org_ids = {g.reader_org_id for g in grants if g.reader_org_id}
    orgs = lookup(session, Organisation.id, Organisation.name, org_ids)
    reasons = notes.texts(session, (e.data[notes.KEY] for _, e in trail if notes.KEY in e.data))
    where = {
        r.ledger_index: r
        for r in session.scalars(
            select(AccessRecord).where(AccessRecord.ledger_index.in_([i for i, _ in trail]))
        )
    }

    def who(user_id: str | None) -> str:
        return "system" if user_id in (None, SYSTEM) else users.get(user_id or "", "?")

    def grant(g: AccessGrant) -> GrantOut:
        reader = (
            users.get(g.reader_user_id, "?")
            if g.reader_user_id
            else f"{orgs.get(g.reader_org_id or '', '?')} (recovery key)"
        )
        granted = GRANT_TYPES.get(g.kind, EntryType.ITEM_SEALED)
        ended = END_TYPES.get(g.end_kind or "", "")
        return GrantOut(
            reader=reader,
            kind=g.kind,
            granted_at=g.granted_at,
            granted_by=who(g.granted_by),
            grant_index=named.first(granted, g.reader_user_id if g.kind == "share" else None),
            expires_at=g.expires_at,
            ended_at=g.ended_at,
            ended_by=who(g.ended_by) if g.ended_at else None,
            end=g.end_kind,
            end_reason=g.end_reason,
            end_index=named.first(ended, g.reader_user_id) if g.end_kind else None,
        )

    def line(index: int, entry: Entry) -> AccessLineOut:
        rec = where.get(index)
        return AccessLineOut(
            index=index,
            type=entry.type,
            time=entry.time,
            user=who(entry.actor),
            address=rec.address if rec else None,
            user_agent=rec.user_agent if rec else None,
            detail=notes.resolve(entry.data, reasons),
        )

    return ReportOut(
        item=item.id,
        transfer=item.transfer_id,
        case=item.transfer.case.urn,
        state=item.state,
        transfer_state=item.transfer.state,
        could_access=[grant(g) for g in grants],
        accessed=[line(i, e) for i, e in trail if e.type in ACCESS_TYPES],
        refused=[line(i, e) for i, e in trail if e.type == EntryType.ACCESS_REFUSED],
    )


def access_reports(ctx: ServiceContext, actor: Actor, ref: str) -> list[ReportOut]:
    """The report of an item, or of each item of a transfer, for those who may ask: anyone
    else is told there is no such item or transfer, whether it exists or not."""
    with ctx.unit_of_work() as session:
        item = session.get(Item, ref)
        transfer = item.transfer if item else session.get(Transfer, ref)
        items = (
            [item] if item else sorted(transfer.items, key=lambda i: i.position) if transfer else []
        )
        if not items or not may_report(session, actor, items[0]):
            raise NotFound(
                f"no item or transfer {ref}",
                hint="you can report on items you sent or received",
            )
        return [report_of(session, i) for i in items]

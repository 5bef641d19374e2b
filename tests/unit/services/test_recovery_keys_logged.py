"""Organisations' recovery keys are in the ledger, so a client wraps only for a logged one."""

from __future__ import annotations

from sqlalchemy import select, update

from custody.ledger.entry import Entry
from custody.services import accounts, cases, transfers
from custody.store.ledger_store import LedgerStore
from custody.store.models import Organisation
from support.world import Cast


def test_each_recovery_key_is_logged_and_named_to_the_sender(cast: Cast) -> None:
    w = cast
    with w.ctx.unit_of_work() as session:
        orgs = {o.id: o for o in session.scalars(select(Organisation))}
        logged = {
            o.id: Entry.from_bytes(LedgerStore(session).entry(o.recovery_key_index or 0))
            for o in orgs.values()
        }
    for org_id, entry in logged.items():
        assert (entry.type, entry.actor) == ("org:recovery_key", "system")
        assert entry.data == {"org": org_id, "recovery_recipient": orgs[org_id].recovery_recipient}
    cases.create_case(w.ctx, w.officer, "47TV7000001")
    readers = transfers.create_transfer(
        w.ctx, w.officer, "47TV7000001", ["CPS Thames and Chiltern"], None
    ).readers
    recovery = [r for r in readers if r.org_id is not None]
    assert {(r.org_id, r.key_index) for r in recovery} == {
        (o, orgs[o].recovery_key_index) for o in (w.police_org, w.cps_org)
    }


def test_organisations_from_before_the_upgrade_are_logged_once(cast: Cast) -> None:
    w = cast
    with w.ctx.unit_of_work() as session:
        session.execute(update(Organisation).values(recovery_key_index=None))
    assert accounts.log_recovery_keys(w.ctx) == 3
    assert accounts.log_recovery_keys(w.ctx) == 0
    with w.ctx.unit_of_work() as session:
        assert None not in session.scalars(select(Organisation.recovery_key_index)).all()


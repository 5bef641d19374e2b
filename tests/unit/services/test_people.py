"""People administration, units, transfers to a unit and unit admins' trail access, through
the services on a real database (SQLite and PostgreSQL).

Police: an organisation admin; units "Interview Unit" (a unit admin, an officer) and "CID"
(a unit admin, an officer). CPS: units "RASSO" (a unit admin, a prosecutor) and "Magistrates"
(a unit admin, nobody with keys), and a prosecutor in no unit. Northshire: an admin, an officer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, text

from custody.clock import FixedClock
from custody.domain.people import Role
from custody.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from custody.ledger.entry import Entry
from custody.services import (
    accounts,
    cases,
    people,
    reports,
    second_factor,
    tokens,
    trails,
    transfers,
    units,
)
from custody.services.context import Actor, ServiceContext
from custody.store.ledger_store import LedgerStore
from custody.store.models import ApiToken, Transfer, User
from custody.store.models_security import SecurityEvent
from support.mail import Mailbox
from support.world import CPS, OTHER, PASSWORD, POLICE, T0, World, world_settings


@dataclass
class Units:
    """The people of this module's world, through the services."""

    world: World
    org_admin: Actor
    interview_admin: Actor
    cid_admin: Actor
    officer: Actor
    cid_officer: Actor
    rasso_admin: Actor
    magistrates_admin: Actor
    rasso_prosecutor: Actor
    loose_prosecutor: Actor
    other_admin: Actor
    outsider: Actor

    @property
    def ctx(self) -> ServiceContext:
        return self.world.ctx

    @property
    def mail(self) -> Mailbox:
        """A real SMTP server (aiosmtpd): one-time codes reach people only by e-mail."""
        assert self.world.mail is not None
        return self.world.mail

    def code_mailed_to(self, email: str, flag: str) -> str:
        """The one-time code in the newest e-mail to ``email`` (what only they can read)."""
        return self.mail.code_for(email, flag)

    def events(self, type_: str) -> list[SecurityEvent]:
        return self.world.events(type_)

    def entries(self, type_: str) -> list[Entry]:
        return self.world.entries(type_)

    def user(self, email: str) -> User:
        return self.world.user(email)

    def send(self, sender: Actor, *to: str) -> Transfer:
        """A sent transfer of one sealed item (the server never reads the bytes)."""
        return self.world.sent_transfer(sender, *to)


@pytest.fixture
def w(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[Units]:
    settings = world_settings(
        tmp_path / "data", db_url, smtp_host="127.0.0.1", smtp_port=mailbox.port
    )
    world = World.create(settings, FixedClock(T0))
    world.mail = mailbox
    world.organisations()
    for org, unit in (
        (POLICE, "Interview Unit"),
        (POLICE, "CID"),
        (CPS, "RASSO"),
        (CPS, "Magistrates"),
    ):
        world.unit(org, unit)

    def a(email: str, org: str, role: Role, unit: str | None = None, keys: bool = False) -> Actor:
        return world.add(email, email, org, role, unit=unit, keys=keys).actor

    yield Units(
        world,
        org_admin=a("admin@tvp.police.example", POLICE, Role.ADMIN),
        interview_admin=a("iu.admin@tvp.police.example", POLICE, Role.UNIT_ADMIN, "Interview Unit"),
        cid_admin=a("cid.admin@tvp.police.example", POLICE, Role.UNIT_ADMIN, "CID"),
        officer=a("dc.jones@tvp.police.example", POLICE, Role.OFFICER, "Interview Unit", True),
        cid_officer=a("dc.smith@tvp.police.example", POLICE, Role.OFFICER, "CID", True),
        rasso_admin=a("rasso.admin@cps.example", CPS, Role.UNIT_ADMIN, "RASSO"),
        magistrates_admin=a("mags.admin@cps.example", CPS, Role.UNIT_ADMIN, "Magistrates"),
        rasso_prosecutor=a("a.patel@cps.example", CPS, Role.PROSECUTOR, "RASSO", True),
        loose_prosecutor=a("b.okafor@cps.example", CPS, Role.PROSECUTOR, None, True),
        other_admin=a("admin@northshire.police.example", OTHER, Role.ADMIN),
        outsider=a("pc.reid@northshire.police.example", OTHER, Role.OFFICER, None, True),
    )
    world.close()


# ── units ───────────────────────────────────────────────────────────────────────────────────


def test_units_are_made_by_organisation_admins_and_listed_by_reach(w: Units) -> None:
    made = units.create_unit(w.ctx, w.org_admin.org_id, "Roads Policing", by=w.org_admin)
    assert (made.name, made.org, made.members) == ("Roads Policing", POLICE, 0)
    assert w.entries("unit:created")[-1].data == {"unit": made.id, "org": w.org_admin.org_id}
    assert w.entries("unit:created")[-1].actor == w.org_admin.user_id
    assert [e.detail for e in w.events("unit:created")] == [f"unit {made.id} 'Roads Policing'"]
    with pytest.raises(Conflict):
        units.create_unit(w.ctx, POLICE, "Roads Policing")
    with pytest.raises(InvalidInput, match="not a valid unit name"):
        units.create_unit(w.ctx, POLICE, "Roads/Traffic")
    with pytest.raises(Forbidden):
        units.create_unit(w.ctx, w.org_admin.org_id, "Mine", by=w.interview_admin)
    with pytest.raises(Forbidden):
        units.create_unit(w.ctx, w.org_admin.org_id, "Theirs", by=w.other_admin)

    assert [u.name for u in units.units_for(w.ctx, w.org_admin)] == [
        "CID",
        "Interview Unit",
        "Roads Policing",
    ]
    assert [(u.name, u.members) for u in units.units_for(w.ctx, w.interview_admin)] == [
        ("Interview Unit", 2)
    ]
    assert [u.name for u in units.list_units(w.ctx, CPS)] == ["Magistrates", "RASSO"]


# ── listing and adding people ───────────────────────────────────────────────────────────────


def test_an_organisation_admin_lists_their_organisation_a_unit_admin_their_unit(w: Units) -> None:
    everyone = {p.email for p in people.list_people(w.ctx, w.org_admin).people}
    assert everyone == {
        "admin@tvp.police.example",
        "iu.admin@tvp.police.example",
        "cid.admin@tvp.police.example",
        "dc.jones@tvp.police.example",
        "dc.smith@tvp.police.example",
    }
    unit = people.list_people(w.ctx, w.interview_admin).people
    assert {(p.email, p.unit, p.keys) for p in unit} == {
        ("iu.admin@tvp.police.example", "Interview Unit", False),
        ("dc.jones@tvp.police.example", "Interview Unit", True),
    }


def test_a_unit_admin_adds_a_content_role_to_their_own_unit(w: Units) -> None:
    added = people.add_person(w.ctx, w.rasso_admin, "c.new@cps.example", Role.PROSECUTOR, None)
    assert (added.person.role, added.person.unit, added.person.enrolled) == (
        "prosecutor",
        "RASSO",
        False,
    )
    assert added.activation_sent_to == "c.new@cps.example"
    # The person, with the code only they received, chooses a password; then they enrol.
    code = w.code_mailed_to("c.new@cps.example", "--activation-code")
    accounts.activate(w.ctx, "c.new@cps.example", code, "my very own password")
    assert accounts.login(w.ctx, "c.new@cps.example", "my very own password").enrolling
    (activated,) = w.entries("account:activated")
    assert activated.actor == w.user("c.new@cps.example").id
    created = w.entries("user:created")[-1]
    assert created.actor == w.rasso_admin.user_id
    assert created.data["unit"] == w.user("c.new@cps.example").unit_id
    assert "@" not in created.to_bytes().decode()  # pseudonymous ids only
    (event,) = w.events("people:added")
    assert (event.user_id, event.email) == (w.rasso_admin.user_id, "c.new@cps.example")
    # Naming their own unit is the same as naming none.
    again = people.add_person(w.ctx, w.rasso_admin, "d.new@cps.example", Role.PARALEGAL, "RASSO")
    assert again.person.unit == "RASSO"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR, Role.UNIT_ADMIN])
def test_a_unit_admin_cannot_add_admins_or_auditors(w: Units, role: Role) -> None:
    with pytest.raises(Forbidden):
        people.add_person(w.ctx, w.rasso_admin, "boss@cps.example", role, None)
    listed = people.list_people(w.ctx, w.org_admin).people
    assert not any(p.email == "boss@cps.example" for p in listed)
    (refused,) = w.events("people:refused")
    assert refused.user_id == w.rasso_admin.user_id
    assert refused.detail is not None
    assert refused.detail.startswith("add boss@cps.example: forbidden")


def test_a_unit_admin_cannot_add_to_another_unit_and_learns_nothing_of_it(w: Units) -> None:
    answers = []
    for unit in ("Magistrates", "No Such Unit"):
        with pytest.raises(Forbidden) as refused:
            people.add_person(w.ctx, w.rasso_admin, "c.new@cps.example", Role.PROSECUTOR, unit)
        answers.append(refused.value.diagnostics())
    assert answers[0] == answers[1]


def test_an_organisation_admin_adds_any_role_to_any_unit_of_their_organisation(w: Units) -> None:
    added = people.add_person(
        w.ctx, w.org_admin, "new.ua@tvp.police.example", Role.UNIT_ADMIN, "CID"
    )
    assert (added.person.role, added.person.unit) == ("unit-admin", "CID")
    auditor = people.add_person(w.ctx, w.org_admin, "aud@tvp.police.example", Role.AUDITOR, None)
    assert auditor.person.unit is None
    with pytest.raises(InvalidInput, match="must belong to a unit"):
        people.add_person(w.ctx, w.org_admin, "ua2@tvp.police.example", Role.UNIT_ADMIN, None)
    with pytest.raises(InvalidInput, match="must belong to a unit"):  # the operator's way too
        accounts.create_user(w.ctx, "ua3@tvp.police.example", POLICE, Role.UNIT_ADMIN, PASSWORD)
    with pytest.raises(NotFound, match="no unit"):  # CPS's unit is not theirs
        people.add_person(w.ctx, w.org_admin, "x@tvp.police.example", Role.OFFICER, "RASSO")
    with pytest.raises(Conflict):
        people.add_person(w.ctx, w.org_admin, "dc.jones@tvp.police.example", Role.OFFICER, None)
    assert len(w.events("people:refused")) == 3


# ── out of reach: 404, recorded ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "action",
    [
        lambda w, ref: people.disable(w.ctx, w.interview_admin, ref, "left"),
        lambda w, ref: people.reset_second_factor(w.ctx, w.interview_admin, ref, "phone lost"),
    ],
    ids=["disable", "reset-2fa"],
)
def test_a_unit_admin_gets_404_for_anyone_outside_their_unit(w: Units, action: object) -> None:
    assert callable(action)
    answers = []
    refs = [
        "dc.smith@tvp.police.example",  # another unit of the organisation
        w.outsider.user_id,  # another organisation
        "admin@tvp.police.example",  # their organisation admin, in no unit
        "nobody@tvp.police.example",  # nobody at all
    ]
    for ref in refs:
        with pytest.raises(NotFound) as refused:
            action(w, ref)
        answers.append(refused.value.diagnostics().replace(ref, "REF"))
    assert len(set(answers)) == 1, answers  # the same answer for each: no oracle
    recorded = w.events("people:refused")
    assert len(recorded) == len(refs)
    assert all(e.user_id == w.interview_admin.user_id for e in recorded)
    assert all("not_found" in (e.detail or "") for e in recorded)
    assert not w.user("dc.smith@tvp.police.example").disabled


def test_an_organisation_admin_gets_404_for_other_organisations(w: Units) -> None:
    with pytest.raises(NotFound):
        people.disable(w.ctx, w.org_admin, "pc.reid@northshire.police.example", "left")
    with pytest.raises(NotFound):
        people.move(w.ctx, w.other_admin, w.officer.user_id, None)
    assert not w.user("pc.reid@northshire.police.example").disabled
    assert len(w.events("people:refused")) == 2


def test_a_unit_admin_cannot_act_on_a_fellow_admin_of_their_unit(w: Units) -> None:
    fellow = people.add_person(
        w.ctx, w.org_admin, "iu.admin2@tvp.police.example", Role.UNIT_ADMIN, "Interview Unit"
    )
    with pytest.raises(Forbidden, match="role: unit-admin"):
        people.disable(w.ctx, w.interview_admin, fellow.person.id, "rivalry")
    with pytest.raises(InvalidInput, match="your own account"):
        people.disable(w.ctx, w.interview_admin, w.interview_admin.user_id, "tired")


# ── disabling, resetting, moving ────────────────────────────────────────────────────────────


def _officers_token(w: Units) -> str:
    """A fresh API token of the officer's, good for an hour."""
    with w.ctx.unit_of_work() as session:
        user = session.get_one(User, w.officer.user_id)
        return tokens.issue(w.ctx, session, user, frozenset(), timedelta(hours=1)).token


def test_disabling_revokes_tokens_stops_sign_in_and_sending_and_is_in_the_ledger(w: Units) -> None:
    token = _officers_token(w)
    done = people.disable(w.ctx, w.interview_admin, "DC.Jones@tvp.police.example", "left the unit")
    assert done.disabled
    with pytest.raises(NotAuthenticated):
        tokens.authenticate(w.ctx, token)
    with w.ctx.unit_of_work() as session:
        live = session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == w.officer.user_id, ApiToken.revoked_at.is_(None)
            )
        ).all()
    assert live == []
    with pytest.raises(NotAuthenticated):
        accounts.login(w.ctx, "dc.jones@tvp.police.example", PASSWORD)
    with pytest.raises(NotFound):
        w.send(w.rasso_prosecutor, "dc.jones@tvp.police.example")
    (entry,) = w.entries("account:disabled")
    assert (entry.actor, entry.data) == (w.interview_admin.user_id, {"user": w.officer.user_id})
    (event,) = w.events("people:disabled")
    assert event.email == "dc.jones@tvp.police.example"
    assert "left the unit" in (event.detail or "")
    with pytest.raises(Conflict, match="disabled already"):
        people.disable(w.ctx, w.org_admin, w.officer.user_id, "again")


def test_a_reason_is_required(w: Units) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        people.disable(w.ctx, w.interview_admin, w.officer.user_id, "  ")
    with pytest.raises(InvalidInput, match="reason"):
        people.reset_second_factor(w.ctx, w.interview_admin, w.officer.user_id, "")


def test_a_second_factor_reset_by_a_unit_admin_is_a_ledger_entry_in_their_name(w: Units) -> None:
    token = _officers_token(w)
    index = people.reset_second_factor(
        w.ctx, w.interview_admin, w.officer.user_id, "phone lost"
    ).ledger_index
    with w.ctx.unit_of_work() as session:
        entry = Entry.from_bytes(LedgerStore(session).entry(index))
        assert not second_factor.is_enrolled(session, w.officer.user_id)
    assert (entry.type, entry.actor) == ("account:second_factor_reset", w.interview_admin.user_id)
    assert entry.data["user"] == w.officer.user_id
    with pytest.raises(NotAuthenticated):
        tokens.authenticate(w.ctx, token)
    (event,) = w.events("people:second_factor_reset")
    assert event.user_id == w.interview_admin.user_id
    assert f"ledger #{index}" in (event.detail or "")


def test_an_admin_never_holds_a_credential_of_the_person_they_add(w: Units) -> None:
    """Security review, finding 5: an organisation admin added a paralegal, signed in as
    them, enrolled, made keys and read material. Now the admin's every view lacks the code,
    the account has no password until the person sets one, and the code is kept hashed."""
    added = people.add_person(
        w.ctx, w.org_admin, "new.para@tvp.police.example", Role.PARALEGAL, None
    )
    code = w.code_mailed_to("new.para@tvp.police.example", "--activation-code")
    compact = code.replace("-", "")
    assert compact not in repr(added)
    assert compact not in repr(people.list_people(w.ctx, w.org_admin).people)
    assert all(compact not in repr(e.__dict__) for e in w.events("people:added"))
    with w.ctx.unit_of_work() as session:  # nothing in the database holds it in clear
        for table in ("one_time_codes", "users", "security_events"):
            for row in session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
                assert compact not in repr(tuple(row)).upper().replace("-", "")
    # Without the code there is no way in: no password works, guesses fail and are counted.
    for guess in ("", "a long password 123", "admin's guess"):
        with pytest.raises(NotAuthenticated):
            accounts.login(w.ctx, "new.para@tvp.police.example", guess or "x" * 12)
    with pytest.raises(NotAuthenticated):
        accounts.activate(
            w.ctx, "new.para@tvp.police.example", "AAAA-" + compact[5:], "pw 1234567890"
        )
    assert isinstance(w.ctx.clock, FixedClock)
    w.ctx.clock.advance(timedelta(minutes=2))  # the guesses put sign-in on a back-off
    accounts.activate(w.ctx, "new.para@tvp.police.example", code, "the person's password")
    with pytest.raises(NotAuthenticated):  # once only
        accounts.activate(w.ctx, "new.para@tvp.police.example", code, "the admin's password")
    assert accounts.login(w.ctx, "new.para@tvp.police.example", "the person's password").enrolling


def test_adding_a_person_needs_a_way_to_reach_them(w: Units) -> None:
    offline = replace(w.ctx, settings=w.ctx.settings.model_copy(update={"smtp_host": None}))
    with pytest.raises(InvalidInput, match="cannot e-mail"):
        people.add_person(offline, w.org_admin, "x.new@tvp.police.example", Role.OFFICER, None)
    assert not any(
        p.email == "x.new@tvp.police.example" for p in people.list_people(w.ctx, w.org_admin).people
    )


def test_after_a_reset_only_the_person_can_enrol_again(w: Units) -> None:
    """The password alone (which an admin might have learnt) no longer enrols a new
    authenticator after a reset: it needs the one-time code e-mailed to the person, who is
    told who reset it; the re-enrolment is a ledger entry."""
    done = people.reset_second_factor(w.ctx, w.interview_admin, w.officer.user_id, "phone lost")
    assert done.enrolment_code_sent_to == "dc.jones@tvp.police.example"
    (told,) = [m for m in w.mail.messages if m["to"] == "dc.jones@tvp.police.example"]
    assert "iu.admin@tvp.police.example reset the second factor" in told["body"]
    with pytest.raises(NotAuthenticated, match="one-time code"):
        accounts.login(w.ctx, "dc.jones@tvp.police.example", PASSWORD)
    with pytest.raises(NotAuthenticated):
        accounts.login(w.ctx, "dc.jones@tvp.police.example", PASSWORD, enrolment_code="AAAA-BBBB")
    code = w.code_mailed_to("dc.jones@tvp.police.example", "--enrolment-code")
    started = accounts.login(w.ctx, "dc.jones@tvp.police.example", PASSWORD, enrolment_code=code)
    assert started.enrolling
    enrolling = replace(w.officer, scopes=frozenset({"enrol"}))
    made = second_factor.start_enrolment(w.ctx, enrolling)
    totp = pyotp.TOTP(made.secret)
    second_factor.confirm_enrolment(w.ctx, enrolling, totp.at(T0), None)
    (enrolled,) = w.entries("account:second_factor_enrolled")
    assert enrolled.actor == w.officer.user_id
    with w.ctx.unit_of_work() as session:  # the code is spent
        assert session.execute(text("SELECT count(*) FROM one_time_codes")).scalar_one() == 0


def test_only_an_organisation_admin_moves_people(w: Units) -> None:
    with pytest.raises(Forbidden, match="organisation admin"):
        people.move(w.ctx, w.interview_admin, w.officer.user_id, "CID")
    assert (
        w.user("dc.jones@tvp.police.example").unit_id
        != w.user("dc.smith@tvp.police.example").unit_id
    )
    moved = people.move(w.ctx, w.org_admin, "dc.jones@tvp.police.example", "CID")
    assert moved.unit == "CID"
    (event,) = w.events("people:moved")
    assert event.user_id == w.org_admin.user_id
    # The interview unit's admin no longer reaches them; the CID's does.
    with pytest.raises(NotFound):
        people.disable(w.ctx, w.interview_admin, w.officer.user_id, "left")
    assert "dc.jones@tvp.police.example" in {
        p.email for p in people.list_people(w.ctx, w.cid_admin).people
    }
    assert people.move(w.ctx, w.org_admin, w.officer.user_id, None).unit is None
    with pytest.raises(InvalidInput, match="must belong to a unit"):
        people.move(w.ctx, w.org_admin, w.cid_admin.user_id, None)
    with pytest.raises(NotFound, match="no unit"):
        people.move(w.ctx, w.org_admin, w.officer.user_id, "RASSO")


# ── transfers to a unit, and who reads their trails ─────────────────────────────────────────


def test_a_transfer_to_a_unit_goes_to_its_members_with_keys(w: Units) -> None:
    transfer = w.send(w.officer, f"{CPS}/RASSO")
    assert [r.user_id for r in transfer.recipients] == [w.rasso_prosecutor.user_id]
    with w.ctx.unit_of_work() as session:
        row = session.get_one(Transfer, transfer.id)
    assert row.recipient_unit_id == w.user("a.patel@cps.example").unit_id
    shown = transfers.view(w.ctx, w.officer, transfer.id)
    assert (shown.recipient_org, shown.recipient_unit) == (CPS, "RASSO")
    created = w.entries("transfer:created")[-1]
    assert created.data["unit"] == row.recipient_unit_id
    # Addressed as custody shows it, too; an organisation target records no unit.
    assert (
        transfers.view(w.ctx, w.officer, w.send(w.officer, f"{CPS} / RASSO").id).recipient_unit
        == "RASSO"
    )
    assert transfers.view(w.ctx, w.officer, w.send(w.officer, CPS).id).recipient_unit is None


def test_unit_targets_that_cannot_be_sent_to(w: Units) -> None:
    cases.create_case(w.ctx, w.officer, "47TV9999999")

    def create(*to: str) -> None:
        transfers.create_transfer(w.ctx, w.officer, "47TV9999999", list(to), None)

    with pytest.raises(NotFound, match="no recipient"):
        create(f"{CPS}/No Such Unit")
    with pytest.raises(NotFound, match="no recipient"):
        create(f"{OTHER}/RASSO")  # a unit of another organisation is not theirs
    with pytest.raises(Conflict, match=r"nobody in .* / Magistrates has keys"):
        create(f"{CPS}/Magistrates")
    w.world.add("c.khan", "c.khan@cps.example", CPS, Role.PROSECUTOR, unit="Magistrates", keys=True)
    create(f"{CPS}/Magistrates")
    with pytest.raises(InvalidInput, match="one unit"):
        create(f"{CPS}/RASSO", f"{CPS}/Magistrates")


def test_unit_admins_read_trails_and_reports_of_their_units_transfers_only(w: Units) -> None:
    to_unit = w.send(w.officer, f"{CPS}/RASSO")  # from the interview unit to RASSO
    to_person = w.send(w.cid_officer, "b.okafor@cps.example")  # CID to a prosecutor in no unit
    item = to_unit.items[0].id
    for admin in (w.interview_admin, w.rasso_admin):
        assert [e.entry.type for e in trails.history(w.ctx, admin, to_unit.id)][-1] == (
            "transfer:sent"
        )
        report = reports.access_report(w.ctx, admin, item)
        assert report.transfer == to_unit.id
    for outsider in (w.cid_admin, w.magistrates_admin, w.other_admin):
        with pytest.raises(NotFound):
            trails.history(w.ctx, outsider, to_unit.id)
        with pytest.raises(NotFound):
            reports.access_report(w.ctx, outsider, item)
    # Sender in the unit is enough; so is a recipient in it, with no unit addressed.
    trails.history(w.ctx, w.cid_admin, to_person.id)
    with pytest.raises(NotFound):
        trails.history(w.ctx, w.interview_admin, to_person.id)
    to_member = w.send(w.cid_officer, "a.patel@cps.example")
    trails.history(w.ctx, w.rasso_admin, to_member.items[0].id)
    # Never content: a unit admin is no party to the transfer.
    with pytest.raises(NotFound):
        transfers.view(w.ctx, w.rasso_admin, to_unit.id)


def test_a_unit_admin_sees_no_draft(w: Units) -> None:
    cases.create_case(w.ctx, w.officer, "47TV8888888")
    draft = transfers.create_transfer(w.ctx, w.officer, "47TV8888888", [f"{CPS}/RASSO"], None)
    with pytest.raises(NotFound):
        trails.history(w.ctx, w.rasso_admin, draft.id)

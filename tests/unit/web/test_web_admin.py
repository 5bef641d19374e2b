"""Administration in the browser (web/admin_pages.py): people, units, security events and
custody trails, through the same services and policies as ``/api/v1/people`` and
``custody people ...``, on SQLite and PostgreSQL, in process.

Thames Valley Police: an organisation admin; units "Interview Unit" (two unit admins, an
officer) and "CID" (an officer); an auditor. Northshire: an admin and an officer. Each
action is tested with what it records, and each refusal with its status: 404 for anyone
out of the admin's reach (as for someone who does not exist), 403 for a wrong role, 400
for acting on oneself or without the box confirming a destructive action ticked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.http.policy import declared_routes
from custody.services import units
from custody.services.context import Actor
from custody.store.models import ApiToken, User
from custody.web import admin_pages
from support.browser import Browser
from support.in_process import InProcess, in_process
from support.mail import Mailbox
from support.world import CPS, OTHER, POLICE

ORG_ADMIN = "admin@tvp.police.example"
IU_ADMIN = "iu.admin@tvp.police.example"
IU_ADMIN_2 = "iu.deputy@tvp.police.example"
OFFICER = "dc.jones@tvp.police.example"
CID_OFFICER = "dc.smith@tvp.police.example"
AUDITOR = "auditor@tvp.police.example"
OTHER_ADMIN = "admin@northshire.police.example"
OUTSIDER = "pc.reid@northshire.police.example"


@dataclass
class Admin:
    w: InProcess
    mail: Mailbox
    browsers: dict[str, Browser]

    def as_(self, email: str) -> Browser:
        """A browser signed in as ``email`` (one per person, kept for the test)."""
        if email not in self.browsers:
            member = next(m for m in self.w.members.values() if m.email == email)
            b = Browser(self.w)
            b.sign_in(member)
            self.browsers[email] = b
        return self.browsers[email]

    def id_of(self, email: str) -> str:
        with self.w.ctx.unit_of_work() as session:
            return str(session.scalars(select(User.id).where(User.email == email)).one())

    def user(self, email: str) -> User:
        return self.w.world.user(email)

    def post(self, who: str, path: str, **fields: str) -> Any:
        b = self.as_(who)
        return b.post(path, b.csrf(), **fields)

    def get(self, who: str, path: str, **params: str) -> Any:
        # (httpx would drop a query string already in ``path`` for an empty ``params``)
        return self.as_(who).client.get(path, params=params or None)


@pytest.fixture
def a(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[Admin]:
    with in_process(tmp_path, db_url, smtp_host="127.0.0.1", smtp_port=mailbox.port) as w:
        units.create_unit(w.ctx, POLICE, "Interview Unit")
        units.create_unit(w.ctx, POLICE, "CID")
        w.add("org_admin", ORG_ADMIN, POLICE, Role.ADMIN)
        w.add("iu_admin", IU_ADMIN, POLICE, Role.UNIT_ADMIN, unit="Interview Unit")
        w.add("iu_admin_2", IU_ADMIN_2, POLICE, Role.UNIT_ADMIN, unit="Interview Unit")
        w.add("officer", OFFICER, POLICE, Role.OFFICER, unit="Interview Unit")
        w.add("cid_officer", CID_OFFICER, POLICE, Role.OFFICER, unit="CID")
        w.add("auditor", AUDITOR, POLICE, Role.AUDITOR)
        w.add("other_admin", OTHER_ADMIN, OTHER, Role.ADMIN)
        w.add("outsider", OUTSIDER, OTHER, Role.OFFICER)
        made = Admin(w, mailbox, {})
        try:
            yield made
        finally:
            for b in made.browsers.values():
                b.close()


def people_on(html: str) -> list[str]:
    """The e-mail addresses in the people table, in order."""
    return re.findall(r'<a href="/admin/people/[^"]+">([^<]+)</a>', html)


def test_every_admin_page_answers_the_people_admins_and_no_one_else(a: Admin) -> None:
    pages = ["/admin/people", "/admin/people/new", "/admin/units", "/admin/security-events"]
    for who in (ORG_ADMIN, IU_ADMIN):
        for path in pages:
            page = a.get(who, path)
            assert page.status_code == 200, (who, path, page.text)
            assert 'id="form-error"' not in page.text
    for who in (OFFICER, AUDITOR, OUTSIDER):
        for path in pages:
            refused = a.get(who, path)
            assert refused.status_code == 403, (who, path)
            assert "Not allowed" in refused.text  # a page in the app's layout, not JSON
    # The layout's link to the pages only for those who can use them.
    assert 'href="/admin/people">Administration' in a.get(ORG_ADMIN, "/security").text
    assert 'href="/admin/people">Administration' in a.get(IU_ADMIN, "/security").text
    for who in (OFFICER, AUDITOR):
        assert "/admin/" not in a.get(who, "/security").text


def test_admins_land_on_their_people_and_auditors_on_the_trails_after_signing_in(
    a: Admin,
) -> None:
    for who, home in ((ORG_ADMIN, "/admin/people"), (IU_ADMIN, "/admin/people"),
                      (AUDITOR, "/audit"), (OFFICER, "/inbox")):
        member = next(m for m in a.w.members.values() if m.email == who)
        b = Browser(a.w)
        try:
            assert b.sign_in(member).headers["location"] == home, who
        finally:
            b.close()


# ── listing and searching ───────────────────────────────────────────────────────────────────


def test_an_org_admin_lists_their_organisation_a_unit_admin_their_unit_a_page_at_a_time(
    a: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    everyone = people_on(a.get(ORG_ADMIN, "/admin/people").text)
    assert sorted(everyone) == sorted(
        [ORG_ADMIN, IU_ADMIN, IU_ADMIN_2, OFFICER, CID_OFFICER, AUDITOR])
    unit = people_on(a.get(IU_ADMIN, "/admin/people").text)
    assert sorted(unit) == sorted([IU_ADMIN, IU_ADMIN_2, OFFICER])
    assert OTHER_ADMIN not in a.get(ORG_ADMIN, "/admin/people").text

    monkeypatch.setattr(admin_pages, "PAGE", 2)
    seen: list[str] = []
    page = a.get(ORG_ADMIN, "/admin/people")
    while True:
        shown = people_on(page.text)
        assert len(shown) <= 2
        seen += shown
        more = re.search(r'id="more" href="\?after=([^"]+)"', page.text)
        if not more:
            break
        page = a.get(ORG_ADMIN, "/admin/people", after=more[1].replace("%3D", "="))
    assert sorted(seen) == sorted(everyone)  # each once, none missing


def test_the_search_finds_by_e_mail_address_within_reach_only(a: Admin) -> None:
    found = a.get(ORG_ADMIN, "/admin/people", q="DC.")
    assert sorted(people_on(found.text)) == [OFFICER, CID_OFFICER]
    # A unit admin's search never reaches past their unit; nor an org admin's past the org.
    assert people_on(a.get(IU_ADMIN, "/admin/people", q="dc.").text) == [OFFICER]
    assert people_on(a.get(ORG_ADMIN, "/admin/people", q="northshire").text) == []
    # LIKE's wildcards are taken as they are typed.
    assert people_on(a.get(ORG_ADMIN, "/admin/people", q="%").text) == []
    assert 'id="empty"' in a.get(ORG_ADMIN, "/admin/people", q="_").text


# ── adding people ───────────────────────────────────────────────────────────────────────────


def test_an_org_admin_adds_a_person_whose_code_goes_to_them_only(a: Admin) -> None:
    cid = next(u for u in units.units_for(a.w.ctx, _actor(a, ORG_ADMIN)) if u.name == "CID")
    added = a.post(ORG_ADMIN, "/admin/people", email="DC.New@tvp.police.example",
                   role="officer", unit=cid.id)
    assert added.status_code == 303, added.text
    new_id = a.id_of("dc.new@tvp.police.example")
    assert added.headers["location"] == f"/admin/people/{new_id}?done=added"
    shown = a.get(ORG_ADMIN, added.headers["location"])
    assert "activation code was e-mailed to dc.new@tvp.police.example" in shown.text
    assert 'id="person-unit">CID<' in shown.text
    code = a.mail.code_for("dc.new@tvp.police.example", "--activation-code")
    assert code not in shown.text  # the admin never sees it
    assert code not in a.get(ORG_ADMIN, "/admin/security-events").text
    (event,) = a.w.world.events("people:added")
    assert (event.user_id, event.email) == (a.id_of(ORG_ADMIN), "dc.new@tvp.police.example")
    created = a.w.world.entries("user:created")[-1]
    assert created.actor == a.id_of(ORG_ADMIN)
    assert "@" not in created.to_bytes().decode()  # pseudonymous ids only in the ledger
    # Shown once: the person's page without ?done says nothing of it.
    assert "activation code" not in a.get(ORG_ADMIN, f"/admin/people/{new_id}").text


def _actor(a: Admin, email: str) -> Actor:
    user = a.user(email)
    return Actor(user.id, user.email, user.org_id, user.role)


def test_a_unit_admin_adds_to_their_own_unit_only_and_no_admin_roles(a: Admin) -> None:
    form = a.get(IU_ADMIN, "/admin/people/new").text
    assert 'value="admin"' not in form
    assert 'value="auditor"' not in form
    ok = a.post(IU_ADMIN, "/admin/people", email="p.new@tvp.police.example", role="paralegal")
    assert ok.status_code == 303, ok.text
    assert a.user("p.new@tvp.police.example").unit_id == a.user(IU_ADMIN).unit_id
    cid = a.user(CID_OFFICER).unit_id
    assert cid is not None
    elsewhere = a.post(IU_ADMIN, "/admin/people", email="x@tvp.police.example",
                       role="officer", unit=cid)
    assert elsewhere.status_code == 403
    assert "adds people to their own unit only" in elsewhere.text
    assert 'role="alert"' in elsewhere.text  # on the form, to choose again
    raised = a.post(IU_ADMIN, "/admin/people", email="boss@tvp.police.example", role="admin")
    assert raised.status_code == 403
    assert "officers, prosecutors and paralegals only" in raised.text
    for email in ("x@tvp.police.example", "boss@tvp.police.example"):
        assert a.mail.messages == [m for m in a.mail.messages if m["to"] != email]
    refused = [e.detail or "" for e in a.w.world.events("people:refused")]
    assert any("add x@tvp.police.example" in d for d in refused)
    assert any("add boss@tvp.police.example" in d for d in refused)


def test_bad_input_on_the_add_form_is_shown_there_and_says_what_to_do(a: Admin) -> None:
    empty = a.post(ORG_ADMIN, "/admin/people", email="", role="officer")
    assert empty.status_code == 400
    assert 'role="alert"' in empty.text
    assert "What to do:" in empty.text
    again = a.post(ORG_ADMIN, "/admin/people", email=OFFICER, role="officer")
    assert again.status_code == 409
    assert f'value="{OFFICER}"' in again.text  # what they typed is kept
    unknown = a.post(ORG_ADMIN, "/admin/people", email="y@tvp.police.example", role="chief")
    assert unknown.status_code == 400
    assert "unknown role" in unknown.text
    unit_admin_without_unit = a.post(ORG_ADMIN, "/admin/people", email="u@tvp.police.example",
                                     role="unit-admin")
    assert unit_admin_without_unit.status_code == 400
    assert "must belong to a unit" in unit_admin_without_unit.text


# ── disabling, resetting, moving ────────────────────────────────────────────────────────────


def test_disabling_asks_for_confirmation_and_a_reason_and_is_recorded(a: Admin) -> None:
    officer = a.id_of(OFFICER)
    a.as_(OFFICER)  # signed in, in their own browser
    path = f"/admin/people/{officer}/disable"
    unconfirmed = a.post(ORG_ADMIN, path, reason="left the force")
    assert unconfirmed.status_code == 400
    assert "tick the box to confirm" in unconfirmed.text
    no_reason = a.post(ORG_ADMIN, path, reason="", confirm="yes")
    assert no_reason.status_code == 400
    assert 'role="alert"' in no_reason.text
    assert not a.user(OFFICER).disabled
    done = a.post(ORG_ADMIN, path, reason="left the force", confirm="yes")
    assert done.status_code == 303
    assert "Disabled" in a.get(ORG_ADMIN, done.headers["location"]).text
    assert a.user(OFFICER).disabled
    with a.w.ctx.unit_of_work() as session:
        live = session.scalars(select(ApiToken).where(
            ApiToken.user_id == officer, ApiToken.revoked_at.is_(None))).all()
    assert live == []
    (entry,) = a.w.world.entries("account:disabled")
    assert (entry.actor, entry.data) == (a.id_of(ORG_ADMIN), {"user": officer})
    (event,) = a.w.world.events("people:disabled")
    assert event.email == OFFICER
    assert "reason: left the force" in (event.detail or "")
    # The person's browser session ended with it.
    assert a.get(OFFICER, "/inbox").status_code == 401
    twice = a.post(ORG_ADMIN, path, reason="again", confirm="yes")
    assert twice.status_code == 409
    assert "disabled already" in twice.text


def test_a_second_factor_reset_is_confirmed_recorded_and_mailed_to_the_person(a: Admin) -> None:
    officer = a.id_of(OFFICER)
    path = f"/admin/people/{officer}/reset-second-factor"
    assert a.post(IU_ADMIN, path, reason="phone lost").status_code == 400
    assert a.w.world.entries("account:second_factor_reset") == []
    done = a.post(IU_ADMIN, path, reason="phone lost", confirm="yes")
    assert done.status_code == 303, done.text
    code = a.mail.code_for(OFFICER, "--enrolment-code")
    page = a.get(IU_ADMIN, done.headers["location"]).text
    assert "re-enrolment code was e-mailed" in page
    assert code not in page
    (entry,) = a.w.world.entries("account:second_factor_reset")
    assert entry.actor == a.id_of(IU_ADMIN)
    (event,) = a.w.world.events("people:second_factor_reset")
    assert event.email == OFFICER
    assert "phone lost" in (event.detail or "")


def test_an_org_admin_moves_a_person_between_units_a_unit_admin_cannot(a: Admin) -> None:
    officer, cid = a.id_of(OFFICER), a.user(CID_OFFICER).unit_id
    assert cid is not None
    assert a.post(IU_ADMIN, f"/admin/people/{officer}/unit", unit=cid).status_code == 403
    assert a.user(OFFICER).unit_id != cid
    assert 'id="move-form"' not in a.get(IU_ADMIN, f"/admin/people/{officer}").text
    moved = a.post(ORG_ADMIN, f"/admin/people/{officer}/unit", unit=cid)
    assert moved.status_code == 303
    assert a.user(OFFICER).unit_id == cid
    (event,) = a.w.world.events("people:moved")
    assert event.email == OFFICER
    # Now out of the Interview Unit admin's reach altogether.
    assert a.get(IU_ADMIN, f"/admin/people/{officer}").status_code == 404


# ── refusals: reach, role, oneself ──────────────────────────────────────────────────────────


ACTIONS = (("disable", {"reason": "r", "confirm": "yes"}),
           ("reset-second-factor", {"reason": "r", "confirm": "yes"}),
           ("unit", {"unit": ""}))


def test_out_of_reach_is_not_found_as_if_nobody_were_there(a: Admin) -> None:
    cases = [(IU_ADMIN, CID_OFFICER), (OTHER_ADMIN, OFFICER), (OTHER_ADMIN, ORG_ADMIN)]
    for admin, person in cases:
        target = a.id_of(person)
        assert a.get(admin, f"/admin/people/{target}").status_code == 404, (admin, person)
        assert a.get(admin, f"/admin/people/{person}").status_code == 404  # by address too
        for action, fields in ACTIONS:
            if action == "unit" and admin == IU_ADMIN:
                continue  # a unit admin never moves anyone: 403 first (tested above)
            got = a.post(admin, f"/admin/people/{target}/{action}", **fields)
            assert got.status_code == 404, (admin, person, action)
        nobody = a.get(admin, "/admin/people/nobody@tvp.police.example")
        assert nobody.status_code == 404
    for person in (CID_OFFICER, OFFICER, ORG_ADMIN):
        user = a.user(person)
        assert not user.disabled
    assert a.w.world.entries("account:disabled") == []
    assert len(a.w.world.events("people:refused")) >= 5


def test_a_unit_admin_sees_but_cannot_act_on_another_unit_admin(a: Admin) -> None:
    deputy = a.id_of(IU_ADMIN_2)
    page = a.get(IU_ADMIN, f"/admin/people/{deputy}")
    assert page.status_code == 200
    assert 'id="not-yours"' in page.text
    assert 'id="disable-form"' not in page.text
    for action, fields in ACTIONS[:2]:
        assert a.post(IU_ADMIN, f"/admin/people/{deputy}/{action}", **fields).status_code == 403
    assert not a.user(IU_ADMIN_2).disabled


def test_nobody_acts_on_themselves(a: Admin) -> None:
    for admin in (ORG_ADMIN, IU_ADMIN):
        me = a.id_of(admin)
        page = a.get(admin, f"/admin/people/{me}")
        assert 'id="self"' in page.text
        assert "<form method=\"post\" action=\"/admin/people/" not in page.text
        for action, fields in ACTIONS[:2]:
            got = a.post(admin, f"/admin/people/{me}/{action}", **fields)
            assert got.status_code == 400
            assert "your own account" in got.text
        assert not a.user(admin).disabled
    # Nor does a page raise anyone's role: there is no such action, only these.
    routes = {r.path for r in declared_routes(a.w.app.routes)
              if r.path.startswith("/admin/people/")}
    assert routes == {"/admin/people/new", "/admin/people/{user_id}",
                      "/admin/people/{user_id}/disable",
                      "/admin/people/{user_id}/reset-second-factor",
                      "/admin/people/{user_id}/unit"}


def test_a_destructive_post_without_the_forms_csrf_token_is_refused(a: Admin) -> None:
    b = a.as_(ORG_ADMIN)
    officer = a.id_of(OFFICER)
    got = b.post(f"/admin/people/{officer}/disable", None, reason="r", confirm="yes")
    assert got.status_code == 403
    other_site = b.post(f"/admin/people/{officer}/disable", b.csrf(), origin="https://evil.example",
                        reason="r", confirm="yes")
    assert other_site.status_code == 403
    assert not a.user(OFFICER).disabled


# ── units ───────────────────────────────────────────────────────────────────────────────────


def test_an_org_admin_creates_units_a_unit_admin_sees_only_theirs(a: Admin) -> None:
    listed = a.get(IU_ADMIN, "/admin/units").text
    assert "Interview Unit" in listed
    assert ">CID<" not in listed
    assert 'id="create-unit-form"' not in listed
    assert a.post(IU_ADMIN, "/admin/units", name="Mine").status_code == 403
    made = a.post(ORG_ADMIN, "/admin/units", name="Roads Policing")
    assert made.status_code == 303
    assert "Roads Policing" in a.get(ORG_ADMIN, made.headers["location"]).text
    (entry,) = a.w.world.entries("unit:created")[-1:]
    assert entry.actor == a.id_of(ORG_ADMIN)
    assert [e.detail for e in a.w.world.events("unit:created")][-1].endswith("'Roads Policing'")
    dup = a.post(ORG_ADMIN, "/admin/units", name="Roads Policing")
    assert dup.status_code == 409
    assert 'role="alert"' in dup.text
    bad = a.post(ORG_ADMIN, "/admin/units", name="Roads/Traffic")
    assert bad.status_code == 400
    assert "Roads Policing" not in a.get(OTHER_ADMIN, "/admin/units").text


# ── security events ─────────────────────────────────────────────────────────────────────────


def kinds_on(html: str) -> list[str]:
    return re.findall(r'<td class="kind">([^<]+)</td>', html)


def test_security_events_are_the_admins_reach_only_and_filter(a: Admin) -> None:
    a.post(ORG_ADMIN, f"/admin/people/{a.id_of(CID_OFFICER)}/disable", reason="moved force",
           confirm="yes")
    a.post(OTHER_ADMIN, f"/admin/people/{a.id_of(OUTSIDER)}/disable", reason="northshire",
           confirm="yes")
    org = a.get(ORG_ADMIN, "/admin/security-events").text
    assert "people:disabled" in kinds_on(org)
    assert "northshire" not in org
    assert OTHER_ADMIN not in org
    assert OUTSIDER not in org
    # The unit admin: their unit's people's events only; not the CID officer's disabling.
    unit = a.get(IU_ADMIN, "/admin/security-events").text
    assert "people:disabled" not in kinds_on(unit)
    assert CID_OFFICER not in unit
    assert OFFICER in unit
    assert f">{ORG_ADMIN}<" not in unit
    # Filters: by kind (a tag or its family), by person, by date.
    only = a.get(ORG_ADMIN, "/admin/security-events", kind="people").text
    assert set(kinds_on(only)) == {"people:disabled"}
    logins = kinds_on(a.get(ORG_ADMIN, "/admin/security-events", kind="login").text)
    assert logins
    assert set(logins) <= {"login:succeeded", "login:failed"}
    theirs = a.get(ORG_ADMIN, "/admin/security-events", person=CID_OFFICER).text
    # By address or by id: what they did (their sign-ins) and what was done to them.
    by_id = a.get(ORG_ADMIN, "/admin/security-events", person=a.id_of(CID_OFFICER)).text
    assert set(kinds_on(theirs)) == set(kinds_on(by_id)) == {"login:succeeded",
                                                              "people:disabled"}
    # Naming someone of another organisation shows nothing of theirs.
    assert kinds_on(a.get(ORG_ADMIN, "/admin/security-events", person=OUTSIDER).text) == []
    assert "people:disabled" in kinds_on(theirs)
    assert OFFICER not in theirs
    today = a.w.clock.now().date().isoformat()
    assert kinds_on(a.get(ORG_ADMIN, "/admin/security-events", since=today, until=today).text)
    assert kinds_on(a.get(ORG_ADMIN, "/admin/security-events", until="2000-01-01").text) == []
    bad = a.get(ORG_ADMIN, "/admin/security-events", since="yesterday")
    assert bad.status_code == 400
    assert "2026-11-30" in bad.text


def test_security_events_come_a_page_at_a_time_with_the_filter_kept(
    a: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "PAGE", 2)
    first = a.get(ORG_ADMIN, "/admin/security-events", kind="login").text
    more = re.search(r'id="more" href="\?([^"]+)"', first)
    assert more, first
    assert more[1].startswith("kind=login&amp;after=")
    second = a.as_(ORG_ADMIN).client.get("/admin/security-events?" + more[1].replace("&amp;", "&"))
    assert second.status_code == 200
    assert set(kinds_on(second.text)) <= {"login:succeeded"}


# ── auditors: trails, never content ─────────────────────────────────────────────────────────


def test_an_auditor_sees_trails_and_nothing_of_the_content(a: Admin) -> None:
    officer = a.w.members["officer"]
    a.w.register_keys(officer)
    prosecutor = a.w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
    a.w.register_keys(prosecutor)
    sent = a.w.transfer(officer, CPS, "47TV0000009", send=True)
    nav = a.get(AUDITOR, "/security").text
    assert 'href="/audit"' in nav
    page = a.get(AUDITOR, "/audit", ref=sent["transfer"])
    assert page.status_code == 200, page.text
    assert "transfer:sent" in page.text or "item:" in page.text
    assert re.search(r'<table id="trail">', page.text)
    for forbidden in ("/play/", "/transfers/", "Save", "47TV0000009"):
        assert forbidden not in page.text, forbidden
    # Its links: the access report and the evidence bundle, both theirs to read (no content).
    links = set(re.findall(r'href="(/[^"]*)"', page.text.split("<main>")[1]))
    assert {f"/reports/{sent['transfer']}", f"/bundle/{sent['transfer']}"} <= links
    for link in links:
        if link.startswith(("/reports/", "/bundle/")):
            assert a.get(AUDITOR, link).status_code == 200, link
    report = a.get(AUDITOR, f"/reports/{sent['transfer']}").text
    assert "/play/" not in report
    assert "/transfers/" not in report
    assert a.get(AUDITOR, f"/transfers/{sent['transfer']}").status_code == 403
    assert a.get(AUDITOR, f"/play/{sent['item']}").status_code == 403
    # Another organisation's auditor: not found, as for a transfer that does not exist.
    a.w.add("auditor_other", "auditor@northshire.police.example", OTHER, Role.AUDITOR)
    assert a.get("auditor@northshire.police.example", "/audit",
                 ref=sent["transfer"]).status_code == 404
    # An organisation admin reads no trails (audit:read is not theirs).
    assert a.get(ORG_ADMIN, "/audit").status_code == 403

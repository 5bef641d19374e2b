"""Units and people administration through the real CLI, on a real server (both backends).

An organisation admin makes units and a unit admin; the unit admin adds a prosecutor; the
prosecutor signs in and makes keys; an officer sends to "ORG/UNIT"; the prosecutor receives;
a prosecutor of the organisation outside the unit does not; the unit admin reads the trail
and the access report but never the content; the admin of another unit learns nothing. The
prosecution organisation is this test's own: who belongs to it is what the test is about.
"""

from __future__ import annotations

import json
import re
import uuid

from custody.domain.people import OrgKind
from support.cli import assert_fails
from support.server import People, Person, Server, item_ids, make_file, new_case, new_person
from support.world import Account


def _added(admin: Person, key: str, email: str, role: str, *unit: str) -> Person:
    """``custody people add`` by ``admin``; the new person, at their own machine, activates
    the account with the code only they were e-mailed, chooses a password and signs in."""
    said = admin.ok("people", "add", email, "--role", role, *unit).stdout
    assert f"e-mailed to {email}" in said
    code = admin.server.mailbox.code_for(email, "--activation-code")
    assert code.replace("-", "") not in said.replace("-", "")  # the admin never sees it
    password = f"chosen-by-{key}-{uuid.uuid4().hex[:8]}"
    account = Account(key, email, admin.account.org, role, password)
    person = Person(admin.server, account, admin.server.work / "people" / key)
    person.login("--activation-code", code)
    return person


def test_units_unit_admins_and_sending_to_a_unit(server: Server, people: People) -> None:
    org = server.world.new_org(OrgKind.PROSECUTION)
    org_admin = new_person(server, server.work / "people" / "cps_admin", "cps_admin",
                           "admin@cps.example", org, "admin", keys=False)
    # In the organisation, in no unit, with keys: the unit's transfers are not for them.
    loose = new_person(server, server.work / "people" / "loose_prosecutor", "loose_prosecutor",
                       "loose.prosecutor@cps.example", org, "prosecutor")
    assert "RASSO" in org_admin.ok("units", "create", "RASSO").stdout
    org_admin.ok("units", "create", "Magistrates")
    assert_fails(org_admin.run("units", "create", "RASSO"), "already", code=6)

    rasso_admin = _added(
        org_admin, "rasso_admin", "rasso.admin@cps.example", "unit-admin", "--unit", "RASSO"
    )
    mags_admin = _added(
        org_admin, "mags_admin", "mags.admin@cps.example", "unit-admin", "--unit", "Magistrates"
    )
    assert_fails(
        org_admin.run("people", "add", "ua@cps.example", "--role", "unit-admin"),
        "must belong to a unit",
        code=2,
    )

    # The unit admin adds a prosecutor to their own unit, but no admin and nobody elsewhere.
    prosecutor = _added(rasso_admin, "rasso_prosecutor", "c.khan@cps.example", "prosecutor")
    prosecutor.keys_init()
    assert_fails(
        rasso_admin.run("people", "add", "boss@cps.example", "--role", "admin"),
        "officers, prosecutors and paralegals only",
        code=4,
    )
    assert_fails(
        rasso_admin.run(
            "people", "add", "x@cps.example", "--role", "officer", "--unit", "Magistrates"
        ),
        "own unit",
        code=4,
    )
    assert_fails(rasso_admin.run("units", "create", "Mine"), "unit-admin may not", code=4)
    listed = rasso_admin.ok("people", "list").stdout
    assert "c.khan@cps.example" in listed
    assert "rasso.admin@cps.example" in listed
    assert loose.email not in listed  # in the organisation, not in the unit
    assert loose.email in org_admin.ok("people", "list").stdout
    assert rasso_admin.ok("units", "list").stdout.startswith("RASSO ")

    # An officer sends to the unit: its members with keys receive, nobody else.
    officer = people.officer
    urn = new_case(officer)
    video = make_file(officer.home / "out", "interview.mp4", 200_000)
    sent = officer.ok("send", str(video), "--case", urn, "--to", f"{org}/RASSO").stdout
    assert f"to {org} / RASSO" in sent
    tid = re.findall(r"Sent transfer (\S+)", sent)[0]
    item = item_ids(officer, tid)[0]
    assert f"to {org} / RASSO" in officer.ok("outbox").stdout
    shown = officer.transfer(tid)
    assert (shown["recipient_unit"], [r["email"] for r in shown["recipients"]]) == (
        "RASSO",
        ["c.khan@cps.example"],
    )
    inbox = prosecutor.ok("inbox").stdout
    assert f"{tid}  {urn}" in inbox
    assert f"from {officer.email} to {org} / RASSO" in inbox
    assert tid not in loose.ok("inbox").stdout
    prosecutor.ok("receive", tid, "--out", str(prosecutor.home / "got"))
    assert (prosecutor.home / "got" / "interview.mp4").read_bytes() == video.read_bytes()

    # The unit admin reads the trail and the report; content is refused, by the CLI and server.
    history = rasso_admin.ok("history", tid).stdout
    assert "c.khan@cps.example  received it" in history
    report = json.loads(rasso_admin.ok("report", item, "--json").stdout)
    assert {(a["user"], a["type"]) for a in report["accessed"]} >= {
        ("c.khan@cps.example", "item:received")
    }
    assert_fails(
        rasso_admin.run("receive", tid, "--out", str(rasso_admin.home / "got")),
        "does not receive case material",
        code=4,
    )
    with rasso_admin.api() as api:
        assert api.get(f"/api/v1/transfers/{tid}").status_code == 403
        assert api.get(f"/api/v1/items/{item}/content").status_code == 403
    assert not (rasso_admin.home / "got").exists()

    # The admin of another unit learns nothing: not the trail, not the report, not the person.
    assert_fails(mags_admin.run("history", tid), "no item or transfer", code=5)
    assert_fails(mags_admin.run("report", item), "no item", code=5)
    assert_fails(
        mags_admin.run("people", "disable", "c.khan@cps.example", "--reason", "x"),
        "no person",
        code=5,
    )
    assert_fails(
        mags_admin.run("people", "reset-2fa", prosecutor.session["user_id"], "--reason", "x"),
        "no person",
        code=5,
    )
    refused = server.query(
        "SELECT count(*) FROM security_events WHERE type = 'people:refused' AND user_id = :u",
        u=mags_admin.session["user_id"],
    )
    assert refused[0][0] == 2

    # Moving is for the organisation admin; disabling ends the person's sessions at once.
    assert_fails(
        rasso_admin.run("people", "move", "c.khan@cps.example", "--unit", "Magistrates"),
        "organisation admin",
        code=4,
    )
    moved = org_admin.ok("people", "move", "c.khan@cps.example", "--unit", "Magistrates")
    assert "to Magistrates" in moved.stdout
    org_admin.ok("people", "move", "c.khan@cps.example", "--unit", "RASSO")
    said = rasso_admin.ok("people", "disable", "c.khan@cps.example", "--reason", "left").stdout
    assert "Disabled c.khan@cps.example" in said
    assert_fails(prosecutor.run("inbox"), "not valid", code=3)

"""Each role's main tasks with nothing but the browser, from a fresh account (the issue's first
check), in real Chromium against a real ``custody serve``: every person here is created by
the operator (``custody admin user create``) just before, activates with the one-time code,
chooses a password and enrols the authenticator app from the secret read off the page
(:func:`support.chromium.fresh`), then does their job:

- an officer makes keys in the browser, opens a case and sends a file for it (which
  ``custody receive`` then verifies against the keys the browser registered);
- a prosecutor makes keys, then saves a transfer sent to them (verified, byte for byte) and
  acknowledges it;
- a unit admin adds a person to their unit, and disables one of its officers (a move between
  units is not offered to them: only the organisation admin moves people);
- an organisation admin creates a unit and moves someone into it, and resets someone's second
  factor (who then sets up a new authenticator app in the browser with the code e-mailed to
  them, the old one refused);
- an auditor finds a transfer's custody trail and its access report, downloads the report
  (CSV and JSON), and is offered no content.

A test per task. The refusals around each are tested in process (tests/unit/web/) and in
test_browser_admin.py; axe-core here only on the states no other test reaches (every page's
own state is in test_accessibility.py).

SQLite only, one server for the module: the pages use the same services as the API.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from custody.domain.people import OrgKind, Role
from custody.ledger.events import EntryType
from support.admin_pages import add_person, disable, enrolled, own_browser, police_force
from support.axe import assert_accessible
from support.chromium import (
    enrol_in_the_browser,
    fresh,
    make_keys,
    send_in_browser,
    sent_transfer,
)
from support.server import People, Person, Server, make_file, new_case
from support.world import POLICE, new_urn

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


def person_page(page: Page, server: Server, who: Person) -> None:
    """From "Administration", find ``who`` by their address and open their page."""
    page.goto(f"{server.web_url}/admin/people")
    page.fill("#people-q", who.email)
    page.press("#people-q", "Enter")
    page.click(f'#people a:text-is("{who.email}")')
    page.wait_for_url("**/admin/people/*")


# ── officer ─────────────────────────────────────────────────────────────────────────────────


def test_an_officer_makes_keys_opens_a_case_and_sends_a_file(
    server: Server, people: People, context: BrowserContext, tmp_path: Path
) -> None:
    page = context.new_page()
    officer = fresh(page, server, POLICE, Role.OFFICER)
    page.click("#continue")
    page.wait_for_url("**/inbox")  # an officer's home
    recipient = make_keys(page, server, officer)
    registered = [e.data["age_recipient"] for e in server.world.entries(EntryType.KEY_REGISTERED)
                  if e.actor == server.world.user(officer.email).id]
    assert registered == [recipient]

    # Open the case in the browser, then send a file for it.
    urn = new_urn()
    page.click('nav a[href="/cases"]')
    page.fill("#urn", urn)
    page.click("#open-case-button")
    page.wait_for_url(f"**/cases/{urn}?opened=1")
    statement = make_file(tmp_path / "out", "statement.pdf", 30_000)
    page.click('nav a[href="/send"]')
    send_in_browser(page, server, [statement], urn, people.prosecutor.account.org)
    transfer = sent_transfer(page)

    # The prosecutor's CLI verifies the officer's signature against the keys the browser
    # registered, and gets the file byte for byte.
    out = tmp_path / "received"
    people.prosecutor.ok("receive", transfer, "--out", str(out))
    assert (out / "statement.pdf").read_bytes() == statement.read_bytes()
    sent = [e for e in server.world.entries(EntryType.TRANSFER_SENT) if e.transfer == transfer]
    assert [e.actor for e in sent] == [server.world.user(officer.email).id]
    page.goto(f"{server.web_url}/outbox?case={urn}")
    expect(page.locator(f'tr[data-transfer="{transfer}"]')).to_have_count(1)


# ── prosecutor ──────────────────────────────────────────────────────────────────────────────


def test_a_prosecutor_saves_a_transfer_verified_and_acknowledges_it(
    server: Server, people: People, context: BrowserContext, tmp_path: Path
) -> None:
    org = server.world.new_org(OrgKind.PROSECUTION)
    page = context.new_page()
    prosecutor = fresh(page, server, org, Role.PROSECUTOR, domain="cps.example")
    make_keys(page, server, prosecutor)
    # An officer sends to the prosecutor's organisation, now that its person has keys.
    interview = make_file(tmp_path / "out", "interview.txt", 20_000)
    transfer = people.officer.send([interview], new_case(people.officer), org)

    page.click('nav a[href="/inbox"]')
    page.click(f'tr[data-transfer="{transfer}"] a')
    page.wait_for_url(f"**/transfers/{transfer}")
    expect(page.locator("#receive-state")).to_contain_text("verified against")
    with page.expect_download() as saving:
        page.click("#items button.save")
    download = saving.value
    assert download.suggested_filename == "interview.txt"
    assert Path(download.path()).read_bytes() == interview.read_bytes()
    expect(page.locator("#items .outcome")).to_contain_text("signature and SHA-256 verified")
    page.click("#acknowledge")
    page.wait_for_url("**?acknowledged=1")
    expect(page.locator("#state")).to_have_text("acknowledged")

    # The ledger holds the receipt (the browser's own, verified) and the acknowledgement.
    mine = server.world.user(prosecutor.email).id
    events = {(e.type, e.actor) for e in server.world.entries(EntryType.ITEM_RECEIVED)
              + server.world.entries(EntryType.TRANSFER_ACKNOWLEDGED) if e.transfer == transfer}
    assert events == {("item:received", mine), ("transfer:acknowledged", mine)}, events


# ── unit admin ──────────────────────────────────────────────────────────────────────────────


def test_a_unit_admin_adds_a_person_to_their_unit(
    server: Server, context: BrowserContext
) -> None:
    org = server.world.new_org(OrgKind.POLICE)
    server.world.unit(org, "Interview Unit")
    page = context.new_page()
    fresh(page, server, org, Role.UNIT_ADMIN, "Interview Unit")
    page.click("#continue")
    page.wait_for_url("**/admin/people")  # a unit admin's home
    page.click("#add-person")
    page.wait_for_url("**/admin/people/new")
    # Their own unit is the only one offered.
    expect(page.locator("#new-unit option")).to_have_text(["Interview Unit"])
    newcomer = f"dc.{uuid.uuid4().hex[:8]}@tvp.police.example"
    add_person(page, server, newcomer)
    expect(page.locator("#person-unit")).to_have_text("Interview Unit")
    expect(page.locator("#person-state")).to_have_text("not enrolled yet")
    assert server.world.user(newcomer).role == "officer"
    page.goto(f"{server.web_url}/admin/people")
    expect(page.locator(f'#people a:text-is("{newcomer}")')).to_be_visible()


def test_a_unit_admin_disables_an_officer_of_their_unit(
    server: Server, context: BrowserContext
) -> None:
    org = police_force(server, "Interview Unit", "CID")
    leaver = enrolled(server, org, Role.OFFICER, "Interview Unit")
    page = context.new_page()
    fresh(page, server, org, Role.UNIT_ADMIN, "Interview Unit")
    person_page(page, server, leaver)
    expect(page.locator("#move-form")).to_have_count(0)  # moving is the organisation admin's
    disable(page, server, leaver, "left the unit")
    # Their CLI session ended with it.
    assert leaver.run("whoami").returncode != 0


# ── organisation admin ──────────────────────────────────────────────────────────────────────


def test_an_org_admin_creates_a_unit_and_moves_someone_into_it(
    server: Server, context: BrowserContext
) -> None:
    org = server.world.new_org(OrgKind.POLICE)
    mover = enrolled(server, org, Role.OFFICER)
    page = context.new_page()
    admin = fresh(page, server, org, Role.ADMIN)
    page.click("#continue")
    page.wait_for_url("**/admin/people")  # an organisation admin's home
    page.goto(f"{server.web_url}/admin/units")
    page.fill("#unit-name", "Child Abuse Investigation")
    page.click("#create-unit-button")
    expect(page.locator("#done")).to_contain_text("The unit was created")
    expect(page.locator("#units")).to_contain_text("Child Abuse Investigation")
    assert_accessible(page)
    made_by = [e.actor for e in server.world.entries(EntryType.UNIT_CREATED)]
    assert made_by.count(server.world.user(admin.email).id) == 1

    person_page(page, server, mover)
    page.select_option("#move-unit", label="Child Abuse Investigation")
    page.click("#move-button")
    page.wait_for_url("**?done=moved")
    expect(page.locator("#person-unit")).to_have_text("Child Abuse Investigation")
    page.goto(f"{server.web_url}/admin/units")
    row = page.locator("#units tr", has_text="Child Abuse Investigation")
    expect(row).to_contain_text("1")


def test_an_org_admin_resets_a_second_factor_and_the_person_enrols_again(
    server: Server, context: BrowserContext
) -> None:
    org = server.world.new_org(OrgKind.POLICE)
    locked_out = enrolled(server, org, Role.OFFICER)
    page = context.new_page()
    fresh(page, server, org, Role.ADMIN)
    person_page(page, server, locked_out)
    page.fill("#reset-reason", "lost their phone")
    page.check("#reset-form input[name=confirm]")
    page.click("#reset-button")
    page.wait_for_url("**?done=reset")
    expect(page.locator("#done")).to_contain_text(f"e-mailed to {locked_out.email}")
    code = server.mailbox.code_for(locked_out.email, "--enrolment-code")
    assert code not in page.content()
    assert_accessible(page)

    # The person, in their own browser: the old app's code is no longer enough; the code
    # e-mailed to them and their password lead to a new authenticator app.
    old = locked_out.totp
    assert old is not None
    theirs_ctx = own_browser(context)
    try:
        theirs = theirs_ctx.new_page()
        theirs.goto(f"{server.web_url}/login")
        theirs.fill("#email", locked_out.email)
        theirs.fill("#password", locked_out.password)
        theirs.fill("#code", old.now())  # the old app's code
        theirs.click("#sign-in")
        expect(theirs.locator("#message")).to_contain_text("Your second factor was reset")
        assert_accessible(theirs)
        theirs.fill("#password", locked_out.password)
        theirs.fill("#enrolment-code", code)
        theirs.click("#sign-in")
        enrol_in_the_browser(theirs, locked_out)
        assert locked_out.totp is not None
        assert locked_out.totp.secret != old.secret
        theirs.fill("#code", locked_out.code())
        theirs.click("#confirm")
        expect(theirs.locator("#recovery-codes")).to_be_visible()
        theirs.click("#continue")
        theirs.wait_for_url("**/inbox")
    finally:
        theirs_ctx.close()


# ── auditor ─────────────────────────────────────────────────────────────────────────────────


def test_an_auditor_finds_a_trail_downloads_its_report_and_is_offered_no_content(
    server: Server, people: People, context: BrowserContext, tmp_path: Path
) -> None:
    case = new_case(people.officer)
    transfer = people.officer.send([make_file(tmp_path / "out", "cctv-still.png", 4096)], case,
                                   people.prosecutor.account.org)
    page = context.new_page()
    fresh(page, server, people.officer.account.org, Role.AUDITOR)
    page.click("#continue")
    page.wait_for_url("**/audit")  # an auditor's home
    nav = page.locator("nav")
    for content in ("/send", "/keys", "/cases", "/admin/people"):
        expect(nav.locator(f'a[href="{content}"]')).to_have_count(0)

    page.click("nav >> text=Custody trails")
    page.fill("#trail-ref", transfer)
    page.press("#trail-ref", "Enter")
    page.wait_for_url(f"**/audit?ref={transfer}")
    expect(page.locator("#trail .event", has_text="transfer:sent")).to_have_count(1)
    main = page.locator("main")
    expect(main.locator('a[href*="/play/"], a[href^="/transfers/"]')).to_have_count(0)
    assert "cctv-still.png" not in page.content()
    assert case not in page.content()
    assert_accessible(page)
    page.click("#audit-report")
    page.wait_for_url(f"**/reports/{transfer}")
    expect(main.locator('a[href*="/play/"], a[href^="/transfers/"]')).to_have_count(0)
    assert "cctv-still.png" not in page.content()

    with page.expect_download() as as_csv:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(as_csv.value.path()).read_text("utf-8"))))
    assert rows
    assert {r["transfer"] for r in rows} == {transfer}
    could = {r["person"] for r in rows if r["section"] == "could access"}
    assert people.prosecutor.email in could, rows
    with page.expect_download() as as_json:
        page.click("#export-json")
    report: Any = json.loads(Path(as_json.value.path()).read_text("utf-8"))
    assert transfer in json.dumps(report)
    for downloaded in (as_csv.value.path(), as_json.value.path()):
        assert "cctv-still.png" not in Path(downloaded).read_text("utf-8")

    # No content anywhere: the transfer page (where items are saved and played) is refused.
    refused = page.goto(f"{server.web_url}/transfers/{transfer}")
    assert refused is not None
    assert refused.status == 403
    page.goto(f"{server.web_url}/")  # the brand link leads home: the trails
    page.wait_for_url("**/audit")

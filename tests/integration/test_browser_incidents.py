"""Incidents, notices and retention in a real browser (headless Chromium, Playwright) against a
real ``custody serve``: an officer sends with the CLI; the prosecutor finds the new transfer
in their notices, opens an incident on it, sees the regulator's clock, marks it reported and
closes it; each page passes axe-core (WCAG 2.2 A/AA) at desktop and phone widths.

SQLite only: the pages use the same services and tables as the API, which run on both
(tests/unit/web/test_web_incidents_retention_notices.py covers who may do what).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from custody.domain.people import OrgKind
from support.axe import assert_accessible
from support.chromium import sign_in
from support.server import People, Person, Server, item_ids, make_file, new_case, new_person

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


@pytest.fixture
def prosecutor(server: Server) -> Person:
    """A prosecutor of an organisation of their own (each signs in; codes are per minute)."""
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"p.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, "prosecutor")


def test_notice_then_incident_opened_reported_and_closed_in_the_browser(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    case = new_case(people.officer)
    transfer = people.officer.send(
        [make_file(tmp_path / "out", "interview-victim.mp4", 2048)], case, prosecutor.account.org
    )
    page = context.new_page()
    sign_in(page, server, prosecutor)

    # The in-app notice, queued with the send: a link, and neither case nor file name.
    page.click("nav >> text=Notices")
    page.wait_for_url("**/notices")
    notice = page.locator("#notices li", has_text="has arrived for you").first
    expect(notice.locator(f'a[href="/transfers/{transfer}"]')).to_be_visible()
    text = page.text_content("#notices") or ""
    assert case not in text
    assert "interview-victim" not in text
    assert_accessible(page)

    page.goto(f"{server.web_url}/settings/notifications")
    expect(page.locator("#pref-new")).to_be_checked()
    assert_accessible(page)

    # Open an incident: a reason left out is announced, and says what to do.
    page.goto(f"{server.web_url}/notices")  # from the notice to the transfer, to the form
    notice.locator(f'a[href="/transfers/{transfer}"]').click()
    page.wait_for_url(f"**/transfers/{transfer}")
    page.click("#incident-link")
    page.wait_for_url("**/incidents/new?ref=*")
    assert page.input_value("#incident-ref") == transfer
    page.fill("#incident-reason", "   ")
    page.click("#open")
    expect(page.locator("#form-error")).to_contain_text("Give a reason")
    assert_accessible(page)
    page.fill("#incident-reason", "the disc was left on a train")
    page.click("#open")
    page.wait_for_url("**/incidents/*?opened=1")
    incident = page.url.split("/incidents/")[1].split("?")[0]
    expect(page.locator("#regulator-clock")).to_contain_text("left to report it to the regulator")
    expect(page.locator("#regulator-clock")).to_have_class("clock clock-running")
    assert page.locator(f'section.impact[data-item="{item_ids(people.officer, transfer)[0]}"]')
    assert_accessible(page)

    page.click("#mark-reported")
    page.wait_for_url("**?done=reported")
    expect(page.locator("#reported")).to_contain_text(prosecutor.email)
    expect(page.locator("#regulator-clock")).to_contain_text("Reported to the regulator")
    page.click("#close-incident")
    page.wait_for_url("**?done=closed")
    expect(page.locator("#closed")).to_contain_text(prosecutor.email)
    expect(page.locator("#close-incident")).to_have_count(0)

    page.click("nav >> text=Incidents")
    page.wait_for_url("**/incidents")
    expect(page.locator(f'tr[data-incident="{incident}"]')).to_be_visible()
    assert_accessible(page)

    # The CLI sees the same incident, closed (one service behind both).
    shown = prosecutor.ok("incident", "show", incident).stdout
    assert "the disc was left on a train" in shown

    # Retention of the item the prosecutor holds: a hold, not a date (the sender's to set).
    item = item_ids(people.officer, transfer)[0]
    page.goto(f"{server.web_url}/retention?ref={item}")
    expect(page.locator("#cannot-set")).to_contain_text("organisation that sent it")
    page.fill("#hold-reason", "appeal pending")
    page.click("#place-hold")
    page.wait_for_url("**done=held")
    expect(page.locator("#holds")).to_contain_text("appeal pending")
    assert_accessible(page)

"""Administration in a real browser (headless Chromium, Playwright) against a real ``custody
serve``, every admin starting from an account fresh from ``custody admin user create`` and
signing in for the first time with nothing but the browser (activation code,
their own password, the authenticator secret read off the page):

- an organisation admin adds a person (the activation code goes by real SMTP to that person
  only, never to the page), who then signs in for the first time in a browser of their
  own; the admin disables another after a search, a reason and the confirming box;
- a unit admin sees their unit and is refused (404) a person outside it.

The auditor's work (a trail, its access report downloaded, no content) and each role's other
main tasks are in test_browser_roles.py.

Each page passes axe-core (WCAG 2.2 A/AA) at desktop and phone widths.

SQLite only: the pages use the same services and tables as the API, which run on both
(tests/unit/web/test_web_admin.py covers each action and each refusal on both).
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from custody.domain.people import Role
from support.admin_pages import add_person, disable, enrolled, own_browser, police_force
from support.axe import assert_accessible
from support.chromium import activate_in_the_browser, fresh
from support.server import Person, Server
from support.world import Account

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


def to_administration(page: Page) -> None:
    page.click("nav >> text=Administration")
    page.wait_for_url("**/admin/people")


def test_an_org_admin_adds_and_disables_a_unit_admin_is_kept_to_their_unit(
    server: Server, context: BrowserContext
) -> None:
    org = police_force(server, "Interview Unit", "CID")
    leaver = enrolled(server, org, Role.OFFICER, "CID")

    # The organisation admin's very first sign-in, in the browser.
    page = context.new_page()
    fresh(page, server, org, Role.ADMIN)
    to_administration(page)
    expect(page.locator(f'#people a:text-is("{leaver.email}")')).to_be_visible()
    assert_accessible(page)

    # Add a person: the page says where the one-time code went, and never shows it.
    newcomer = f"dc.{uuid.uuid4().hex[:8]}@tvp.police.example"
    page.click("#add-person")
    page.wait_for_url("**/admin/people/new")
    assert_accessible(page)
    # Someone already there: the form comes back with what was typed and an announced error.
    page.fill("#new-email", leaver.email)
    page.click("#add-person-button")
    expect(page.locator("#form-error")).to_contain_text("What to do")
    expect(page.locator("#new-email")).to_have_value(leaver.email)
    assert_accessible(page)
    code = add_person(page, server, newcomer, "Interview Unit")
    expect(page.locator("#person-unit")).to_have_text("Interview Unit")
    assert_accessible(page)
    # ...and the newcomer, with the code only they received, signs in for the first time.
    with_code = own_browser(context)
    try:
        theirs = with_code.new_page()
        joined = Person(server, Account(newcomer, newcomer, org, "officer",
                                        f"chosen-{uuid.uuid4().hex}"),
                        server.work / "first" / newcomer)
        activate_in_the_browser(theirs, server, joined, code)
        theirs.goto(f"{server.web_url}/inbox")
        expect(theirs.locator("h1")).to_contain_text("Inbox")
    finally:
        with_code.close()
    page.reload()
    expect(page.locator("#person-state")).to_have_text("active")

    # Disable another: found by a search, a reason, the box ticked.
    page.goto(f"{server.web_url}/admin/people")
    page.fill("#people-q", leaver.email.split("@")[0])
    page.press("#people-q", "Enter")
    page.wait_for_url("**/admin/people?q=*")
    page.click(f'#people a:text-is("{leaver.email}")')
    disable(page, server, leaver, "left the force")
    assert_accessible(page)

    # The organisation's security events show it; the filter narrows to it.
    page.goto(f"{server.web_url}/admin/security-events?kind=people")
    expect(page.locator("#events .kind", has_text="people:disabled")).to_have_count(1)
    expect(page.locator("#events .kind", has_text="people:added")).to_have_count(1)
    assert_accessible(page)

    # The unit admin, in a browser of their own: their unit, not the CID officer.
    other = own_browser(context)
    try:
        theirs = other.new_page()
        fresh(theirs, server, org, Role.UNIT_ADMIN, "Interview Unit")
        to_administration(theirs)
        expect(theirs.locator(f'#people a:text-is("{newcomer}")')).to_be_visible()
        assert leaver.email not in (theirs.text_content("#people") or "")
        leaver_id = server.world.user(leaver.email).id
        refused = theirs.goto(f"{server.web_url}/admin/people/{leaver_id}")
        assert refused is not None
        assert refused.status == 404
        expect(theirs.locator("h1")).to_have_text("Not found")
        theirs.goto(f"{server.web_url}/admin/units")
        expect(theirs.locator("#units")).not_to_contain_text("CID")
        expect(theirs.locator("#create-unit-form")).to_have_count(0)
        assert_accessible(theirs)
    finally:
        other.close()


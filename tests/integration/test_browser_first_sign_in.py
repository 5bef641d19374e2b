"""A person's first sign-in with nothing but the browser (headless Chromium, Playwright),
against a real ``custody serve``: the operator creates the account (``custody admin user
create``, which prints the one-time activation code when the server sends no e-mail); the
person reads the system-use notice, activates the account with the code and a password of
their own, adds the authenticator app from the secret the page shows (the test reads it from
the page, as a person types it into an app), sees the recovery codes once and reaches the
inbox; later sign-ins need the app's code. Every page of it passes axe-core at 1280 and
390 px.

Refusals: a wrong confirmation code (the same secret is shown again, nothing enrolled), the
enrolment page after enrolment, and another person's session on it. The in-process tests
(tests/unit/web/test_web_first_sign_in.py) cover the rest: the generic refusal of a wrong
activation code, throttling records, a reload of the recovery codes.

SQLite only: the pages use the same services as the API, which run on both.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, expect

from custody.domain.people import OrgKind
from support.axe import assert_accessible
from support.chromium import enrol_in_the_browser, sign_in
from support.server import People, Person, Server
from support.world import Account

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]

CODE_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def created_by_the_operator(server: Server) -> tuple[Person, str]:
    """A prosecutor the operator creates now (in an organisation of their own); the person
    and the activation code the operator hands over."""
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"first.{uuid.uuid4().hex[:8]}@cps.example"
    out = server.admin("user", "create", email, "--org", org, "--role", "prosecutor").stdout
    match = re.search(r"activation code: (\S+)", out)
    assert match, out
    password = f"chosen-{uuid.uuid4().hex[:12]}"
    person = Person(server, Account(email, email, org, "prosecutor", password),
                    server.work / "first" / email)
    return person, match[1]


def test_a_new_person_signs_in_for_the_first_time_with_only_the_browser(
    server: Server, people: People, context: BrowserContext
) -> None:
    person, activation_code = created_by_the_operator(server)
    page = context.new_page()
    page.goto(f"{server.web_url}/login")
    page.click("#activate-link")
    page.wait_for_url("**/activate")
    assert "restricted criminal-justice system" in (page.text_content("#notice") or "")
    assert_accessible(page)
    page.fill("#email", person.email)
    page.fill("#activation-code", activation_code)
    page.fill("#password", person.password)
    page.fill("#password-again", person.password)
    page.click("#activate")

    enrol_in_the_browser(page, person)
    assert_accessible(page)
    secret = page.text_content("#secret")
    assert person.totp is not None
    # A wrong code first: refused and announced, the same secret shown, nothing enrolled.
    right = person.totp.now()
    page.fill("#code", f"{(int(right) + 500_000) % 1_000_000:06d}")
    page.click("#confirm")
    expect(page.locator("#message")).to_contain_text("That code is not right")
    assert page.get_attribute("#code", "aria-invalid") == "true"
    assert page.text_content("#secret") == secret
    assert_accessible(page)

    page.fill("#code", person.code())
    page.click("#confirm")
    expect(page.locator("#recovery-codes")).to_be_visible()
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_text_contents()]
    assert len(codes) == 10
    assert all(CODE_RE.fullmatch(c) for c in codes), codes
    assert page.get_attribute("#offer-key", "href") == "/security#add-key"
    assert_accessible(page)
    # Shown once: a reload does not show them again (it re-sends the spent form, refused).
    page.reload()
    assert not any(c in (page.content()) for c in codes)
    # ...nor does the enrolment page, which is over for this person.
    gone = page.goto(f"{server.web_url}/enrol")
    assert gone is not None
    assert gone.status == 403
    assert not any(c in page.content() for c in codes)
    assert_accessible(page)
    page.goto(f"{server.web_url}/inbox")
    expect(page.locator("h1")).to_contain_text("Inbox")

    # Later sign-ins need the app's code.
    page.click("#logout")
    page.wait_for_url("**/login")
    sign_in(page, server, person, code=False)
    page.click("#sign-in")
    expect(page.locator("#message")).to_contain_text("authenticator app")
    assert "/login" in page.url
    sign_in(page, server, person)
    assert page.url.endswith("/inbox")


def test_an_admin_set_password_leads_to_enrolment_and_no_one_else_reaches_it(
    server: Server, people: People, context: BrowserContext, chromium: object
) -> None:
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"set.{uuid.uuid4().hex[:8]}@cps.example"
    person = Person(server, server.add_user(email, email, org, "prosecutor"),
                    server.work / "first" / email)
    page = context.new_page()
    sign_in(page, server, person, code=False)  # password only: there is no app yet
    page.click("#sign-in")
    enrol_in_the_browser(page, person)
    # The enrolling session reaches nothing else.
    refused = page.goto(f"{server.web_url}/inbox")
    assert refused is not None
    assert refused.status == 401

    # Another person's session (signed in fully, elsewhere) is refused the enrolment page and
    # its form, and learns nothing of this person's secret.
    other = chromium.new_context()  # type: ignore[attr-defined]
    try:
        theirs = other.new_page()
        sign_in(theirs, server, people.prosecutor)
        shown = theirs.goto(f"{server.web_url}/enrol")
        assert shown is not None
        assert shown.status == 403
        assert person.totp is not None
        assert person.totp.secret[:8] not in (theirs.content().replace(" ", ""))
    finally:
        other.close()

    page.goto(f"{server.web_url}/enrol")
    page.fill("#code", person.code())
    page.click("#confirm")
    expect(page.locator("#recovery-codes")).to_be_visible()
    page.click("#continue")
    page.wait_for_url("**/inbox")

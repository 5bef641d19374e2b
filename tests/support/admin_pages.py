"""The people of the browser tests of administration, and the steps an admin takes on its
pages: someone enrolled earlier, another person's own browser, adding and disabling a person
(test_browser_admin.py, test_browser_roles.py)."""

from __future__ import annotations

import uuid

from playwright.sync_api import BrowserContext, Page, expect

from custody.domain.people import OrgKind, Role
from support.chromium import WAIT_MS
from support.server import Person, Server


def police_force(server: Server, *units: str) -> str:
    """A new police organisation with these units: its name."""
    org = server.world.new_org(OrgKind.POLICE)
    for unit in units:
        server.world.unit(org, unit)
    return org


def enrolled(server: Server, org: str, role: Role, unit: str | None = None) -> Person:
    """Someone an operator added earlier, enrolled at their own machine (no keys)."""
    email = f"{role.value}.{uuid.uuid4().hex[:8]}@tvp.police.example"
    account = server.world.add(email, email, org, role, unit=unit,
                               password=f"pw-{uuid.uuid4().hex[:12]}-long")
    return Person.signed_in(server, account, server.work / "people" / email, keys=False)


def own_browser(context: BrowserContext) -> BrowserContext:
    """Another person's browser: a context of its own (cookies, storage, downloads)."""
    assert context.browser is not None
    other = context.browser.new_context(accept_downloads=True)
    other.set_default_timeout(WAIT_MS)
    return other


def add_person(page: Page, server: Server, email: str, unit: str | None = None) -> str:
    """On "Add a person", add officer ``email`` (to ``unit`` if chosen): the page says where
    the one-time code went and never shows it. The activation code e-mailed to them."""
    page.fill("#new-email", email)
    page.select_option("#new-role", "officer")
    if unit is not None:
        page.select_option("#new-unit", label=unit)
    page.click("#add-person-button")
    page.wait_for_url("**?done=added")
    expect(page.locator("#done")).to_contain_text(f"e-mailed to {email}")
    code = server.mailbox.code_for(email, "--activation-code")
    assert code not in page.content()
    return code


def disable(page: Page, server: Server, who: Person, reason: str) -> None:
    """On ``who``'s page, disable them with ``reason`` and the confirming box: the page, their
    account and the security events say so."""
    page.fill("#disable-reason", reason)
    page.check("#disable-form input[name=confirm]")
    page.click("#disable-button")
    page.wait_for_url("**?done=disabled")
    expect(page.locator("#person-state")).to_have_text("disabled")
    assert server.world.user(who.email).disabled
    assert any(e.email == who.email and reason in (e.detail or "")
               for e in server.world.events("people:disabled"))

"""Send, receive and acknowledge by keyboard alone (real Chromium, a real server): every step
is Tab to the control, then typing, Enter or Space; no click. Each control reached is
checked to show where the focus is (a computed outline or box-shadow, WCAG 2.4.7). Files
are chosen on the file input that has the focus (a person would pick them in the system's
dialog, which Playwright does not drive). The officer signs in, unlocks their keys and sends
from the browser; the prosecutor signs in, unlocks theirs, opens the transfer from the inbox,
saves the item (verified, byte for byte) and acknowledges receipt. The states the pages'
scripts reveal on the way (keys unlocked, the send form, the sent transfer, the received
item) pass axe-core at 1280 and 390 px too.

SQLite only: the pages are the same on both backends.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from custody.domain.people import OrgKind
from support.axe import assert_accessible
from support.chromium import WAIT_MS
from support.server import Person, Server, make_file, new_case, new_person
from support.world import POLICE

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]

MAX_TABS = 80

_FOCUS = """(selector) => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {matches: e.matches(selector), outline: s.outlineStyle, width: s.outlineWidth,
          shadow: s.boxShadow, what: e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")};
}"""


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until ``selector`` has the focus; fail if it never does, or if the focus
    does not show there."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focus: dict[str, Any] | None = page.evaluate(_FOCUS, selector)
        if focus is None:
            continue
        seen.append(focus["what"])
        if focus["matches"]:
            visible = (focus["outline"] != "none" and focus["width"] != "0px") or (
                focus["shadow"] != "none")
            assert visible, f"{selector} has the focus but does not show it: {focus}"
            return
    pytest.fail(f"Tab never reached {selector}; the focus went through {seen}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def sign_in_by_keyboard(page: Page, server: Server, person: Person) -> None:
    page.goto(f"{server.web_url}/login")
    type_into(page, "#email", person.email)
    type_into(page, "#password", person.password)
    type_into(page, "#code", person.code())
    page.keyboard.press("Enter")  # submits the form from its field
    page.wait_for_url("**/inbox")


def unlock_by_keyboard(page: Page, server: Server, person: Person) -> None:
    """The "Your keys" link in the header, then the log key, the key file and passphrase."""
    tab_to(page, 'nav a[href="/keys"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/keys")
    page.wait_for_selector("#unlock-section:not([hidden])")
    if page.is_visible("#log-key"):
        type_into(page, "#log-key", server.log_key)
    tab_to(page, "#key-file")
    (key_file,) = (person.home / "keys").glob("*.age")
    page.locator(":focus").set_input_files(str(key_file))
    type_into(page, "#unlock-passphrase", person.passphrase)
    page.keyboard.press("Enter")
    page.wait_for_selector("#unlocked-section:not([hidden])")
    assert_accessible(page)


@pytest.fixture
def officer(server: Server) -> Person:
    email = f"kb.{uuid.uuid4().hex[:8]}@tvp.police.example"
    return new_person(server, server.work / "people" / email, email, email, POLICE, "officer")


@pytest.fixture
def prosecutor(server: Server) -> Person:
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"kb.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, "prosecutor")


def test_send_receive_and_acknowledge_by_keyboard_alone(
    server: Server, officer: Person, prosecutor: Person, context: BrowserContext,
    chromium: Any, tmp_path: Path
) -> None:
    statement = make_file(tmp_path / "out", "statement.pdf", 40_000)
    case = new_case(officer)

    # The officer sends.
    page = context.new_page()
    sign_in_by_keyboard(page, server, officer)
    unlock_by_keyboard(page, server, officer)
    tab_to(page, 'nav a[href="/send"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/send")
    page.wait_for_selector("#send-form:not([hidden])")
    tab_to(page, "#files")
    page.locator(":focus").set_input_files(str(statement))
    assert_accessible(page)
    type_into(page, "#case", case)
    type_into(page, "#to", prosecutor.account.org)
    tab_to(page, "#send-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#done-section:not([hidden]), #send-error:not([hidden])")
    assert not page.is_visible("#send-error"), page.text_content("#send-error")
    assert_accessible(page)
    tab_to(page, "#done-link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/transfers/*")
    transfer = page.url.rsplit("/", 1)[1]

    # The prosecutor receives and acknowledges, in a browser of their own.
    receiving = chromium.new_context(accept_downloads=True)
    receiving.set_default_timeout(WAIT_MS)
    try:
        page = receiving.new_page()
        sign_in_by_keyboard(page, server, prosecutor)
        unlock_by_keyboard(page, server, prosecutor)
        tab_to(page, 'nav a[href="/inbox"]')
        page.keyboard.press("Enter")
        page.wait_for_url("**/inbox")
        tab_to(page, f'tr[data-transfer="{transfer}"] a')
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/transfers/{transfer}")
        expect(page.locator("#receive-state")).to_contain_text("verified against")
        tab_to(page, "#items button.save")
        with page.expect_download() as saving:
            page.keyboard.press("Enter")
        download = saving.value
        assert download.suggested_filename == "statement.pdf"
        assert Path(download.path()).read_bytes() == statement.read_bytes()
        expect(page.locator("#items .outcome")).to_contain_text("signature and SHA-256 verified")
        assert_accessible(page)
        tab_to(page, "#acknowledge")
        page.keyboard.press("Space")
        page.wait_for_url("**?acknowledged=1")
        assert page.text_content("#state") == "acknowledged"
    finally:
        receiving.close()

"""Sharing onward in the browser (real Chromium, a real ``custody serve``), as ``custody share``:

- a prosecutor who received an item shares it onward with a colleague for 7 days: the form,
  the server's refusals in words (no such person, a person without keys, an expiry in the
  past), the confirmation naming whom and until when, then the share — the page opens the
  prosecutor's wrap, proves the colleague's key in the ledger, wraps the item key for it;
  the access report lists the colleague with the expiry, and the colleague receives the
  item with ``custody receive ITEM``, byte for byte;
- a hostile server (an answer rewritten on its way) names a reader key the ledger does not
  show: the page refuses in the CLI's words, and posts nothing: no share, no ledger entry.

Every page passes axe-core (WCAG 2.2 A/AA) at 1280 and 390 px. SQLite only: the route runs
the API's services, which run on both backends (test_delivery_share_incident.py).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from custody.crypto import age
from custody.domain.people import OrgKind
from custody.ledger.events import EntryType
from support.axe import assert_accessible
from support.chromium import sign_in, unlock_keys
from support.server import People, Person, Server, item_ids, make_file, new_case, new_person

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


def _person(server: Server, org: str, role: str = "prosecutor", *, keys: bool = True) -> Person:
    email = f"{role}.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, role,
                      keys=keys)


@pytest.fixture
def cps(server: Server) -> str:
    """A prosecution organisation of its own (each test's people sign in; codes are per
    minute)."""
    return server.world.new_org(OrgKind.PROSECUTION)


def _received(server: Server, people: People, prosecutor: Person, tmp_path: Path
              ) -> tuple[str, str, Path]:
    """An item the officer sent to ``prosecutor`` alone (not their whole organisation), who
    received it with the CLI."""
    document = make_file(tmp_path / "sent", "ABE-interview-02.txt", 30_000)
    transfer = people.officer.send([document], new_case(people.officer), prosecutor.email)
    (item,) = item_ids(people.officer, transfer)
    prosecutor.ok("receive", transfer, "--out", str(tmp_path / "prosecutor"))
    return transfer, item, document


def _accessible(page: Page) -> None:
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})


def _shares(server: Server, item: str) -> list[str]:
    return [str(e.data.get("reader")) for e in server.world.entries(EntryType.ITEM_SHARED)
            if e.item == item]


def _posts(page: Page) -> list[str]:
    posted: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and "/api/v1/items/" in request.url:
            posted.append(request.url)

    page.on("request", seen)
    return posted


def test_a_prosecutor_shares_onward_for_7_days_and_the_colleague_receives_it(
    server: Server, people: People, cps: str, context: BrowserContext, tmp_path: Path
) -> None:
    prosecutor, colleague = _person(server, cps), _person(server, cps)
    keyless = _person(server, cps, keys=False)
    transfer, item, document = _received(server, people, prosecutor, tmp_path)

    page = context.new_page()
    sign_in(page, server, prosecutor)
    unlock_keys(page, server, prosecutor)
    page.goto(f"{server.web_url}/transfers/{transfer}")
    page.click(f'tr[data-item="{item}"] a.share')
    page.wait_for_url(f"**/items/{item}/share")
    _accessible(page)

    # The server's refusals, in words saying what to do; nothing is shared by any of them.
    for email, expires, said in [
        ("nobody@cps.example", "7d", "no one to share with"),
        (keyless.email, "7d", "make their keys"),
        (colleague.email, "2001-01-01", "in the past"),
        (colleague.email, "soon", "neither a duration nor a date"),
    ]:
        page.fill("#email", email)
        page.fill("#expires", expires)
        page.click("#share-next")
        expect(page.locator("#share-form-error")).to_contain_text(re.compile(said, re.I))
        expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    _accessible(page)
    assert _shares(server, item) == []

    # The confirmation: whom, and until when (7 days from now, as the server reckons it).
    page.fill("#email", colleague.email.upper())
    page.fill("#expires", "7d")
    before = datetime.now(UTC)
    page.click("#share-next")
    expect(page.locator("#confirm-reader")).to_have_text(colleague.email)
    until = page.text_content("#confirm-until") or ""
    shown = datetime.strptime(until, "until %Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    assert before + timedelta(days=7) - timedelta(minutes=1) <= shown
    assert shown <= datetime.now(UTC) + timedelta(days=7)
    _accessible(page)
    assert _shares(server, item) == []  # confirming is a separate step

    page.click("#share-button")
    expect(page.locator("#share-done")).to_be_visible()
    expect(page.locator("#share-done-text")).to_contain_text(
        f"Shared item {item} with {colleague.email} {until}")
    _accessible(page)
    assert _shares(server, item) == [colleague.account.user_id]

    # The access report lists the new reader, with the expiry.
    page.click("#share-report")
    page.wait_for_url(f"**/reports/{item}")
    row = page.locator("table.could-access tr", has_text=colleague.email)
    expect(row).to_contain_text("share")
    expect(row).to_contain_text(prosecutor.email)
    expect(row).to_contain_text(shown.strftime("%Y-%m-%d"))

    # The colleague receives it with the CLI, byte for byte.
    colleague.ok("receive", item, "--out", str(tmp_path / "colleague"))
    assert (tmp_path / "colleague" / document.name).read_bytes() == document.read_bytes()

    # Once more: refused in words (they can already read it), and nothing is added.
    page.goto(f"{server.web_url}/items/{item}/share")
    page.fill("#email", colleague.email)
    page.click("#share-next")
    expect(page.locator("#confirm-reader")).to_have_text(colleague.email)
    page.click("#share-button")
    expect(page.locator("#share-error")).to_contain_text("can already read")
    assert _shares(server, item) == [colleague.account.user_id]


def test_a_reader_key_the_ledger_does_not_show_is_refused_and_nothing_is_posted(
    server: Server, people: People, cps: str, context: BrowserContext, tmp_path: Path
) -> None:
    prosecutor, colleague = _person(server, cps), _person(server, cps)
    _, item, _ = _received(server, people, prosecutor, tmp_path)
    forged = age.Identity.generate().recipient.to_string()  # registered nowhere
    swapped: list[str] = []

    def swap_the_readers_key(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["recipient"] = forged  # the server (or someone on the way) swaps the key
        swapped.append(body["email"])
        route.fulfill(response=answer, body=json.dumps(body))

    context.route(re.compile(rf".*/api/v1/items/{item}/share-target\?.*"), swap_the_readers_key)
    page = context.new_page()
    sign_in(page, server, prosecutor)
    unlock_keys(page, server, prosecutor)
    page.goto(f"{server.web_url}/items/{item}/share")
    page.fill("#email", colleague.email)
    page.fill("#expires", "7d")
    page.click("#share-next")
    posted = _posts(page)
    page.click("#share-button")
    error = page.locator("#share-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(
        f"the server's key for user {colleague.account.user_id} is not the one the ledger shows")
    expect(error).to_contain_text("encryption key differ")
    expect(page.locator("#share-state")).to_have_text("Nothing was shared.")
    expect(page.locator("#share-done")).to_be_hidden()
    assert swapped == [colleague.email]
    assert posted == []
    assert _shares(server, item) == []
    assert not server.query("SELECT id FROM access_grants WHERE item_id = :i AND kind = 'share'",
                            i=item)
    _accessible(page)


def test_an_incident_freezes_sharing_even_after_the_confirmation(
    server: Server, people: People, cps: str, context: BrowserContext, tmp_path: Path
) -> None:
    """Roles that handle no content are no one to share with; an incident opened between the
    confirmation and "Share" refuses the share (nothing is posted that the server keeps),
    and afterwards even the sender (an owner) is told sharing is frozen, at the form."""
    prosecutor, colleague = _person(server, cps), _person(server, cps)
    auditor = _person(server, cps, "auditor", keys=False)
    transfer, item, _ = _received(server, people, prosecutor, tmp_path)
    page = context.new_page()
    sign_in(page, server, prosecutor)
    unlock_keys(page, server, prosecutor)
    page.goto(f"{server.web_url}/items/{item}/share")
    page.fill("#email", auditor.email)
    page.click("#share-next")
    expect(page.locator("#share-form-error")).to_contain_text("No one to share with")
    page.fill("#email", colleague.email)
    page.fill("#expires", "2w")
    page.click("#share-next")
    expect(page.locator("#confirm-reader")).to_have_text(colleague.email)

    people.officer.ok("incident", "open", transfer, "--reason", "sent to the wrong unit")
    page.click("#share-button")
    expect(page.locator("#share-error")).to_contain_text("frozen by incident")
    expect(page.locator("#share-done")).to_be_hidden()
    assert _shares(server, item) == []

    officer = context.new_page()
    sign_in(officer, server, people.officer)
    officer.goto(f"{server.web_url}/items/{item}/share")
    officer.fill("#email", colleague.email)
    officer.click("#share-next")
    expect(officer.locator("#share-form-error")).to_contain_text(
        "frozen by incident")
    expect(officer.locator("#share-form-error")).to_contain_text("until the incident is closed")
    assert _shares(server, item) == []

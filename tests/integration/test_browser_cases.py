"""Cases, the filtered inbox, revoking and the access report in a real browser (headless
Chromium, Playwright) against a real ``custody serve``, with material sent by the real CLI.

- an officer opens a case from the browser, sends two transfers of it and one of another
  case with the CLI; the prosecutor filters the inbox by that URN with the GET form (the
  filtered view is a URL), opens the case page and finds each item's trail with the same
  ledger indexes the ledger holds;
- the officer revokes one transfer through the confirmation step (a missing confirmation is
  announced), and downloads the access report as CSV.

Every page passes axe-core (WCAG 2.2 A/AA) at 1280 and 390 px. SQLite only: the pages use
the same services as the API, which run on both (tests/unit/web/
test_case_transfer_report_pages.py covers who may do what).
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from custody.domain.people import OrgKind
from custody.store.ledger_store import LedgerStore
from support.axe import assert_accessible
from support.chromium import sign_in
from support.server import Person, Server, item_ids, make_file, new_case, new_person
from support.world import new_urn

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


def person(server: Server, kind: OrgKind, role: str) -> Person:
    """Someone of an organisation of their own: each test's people sign in, codes are per
    minute, and nobody else's transfers are in their lists."""
    org = server.world.new_org(kind)
    email = f"{role}.{uuid.uuid4().hex[:8]}@{kind.value}.example"
    return new_person(server, server.work / "people" / email, email, email, org, role)


@pytest.fixture
def officer(server: Server) -> Person:
    return person(server, OrgKind.POLICE, "officer")


@pytest.fixture
def prosecutor(server: Server) -> Person:
    return person(server, OrgKind.PROSECUTION, "prosecutor")


def test_open_a_case_filter_the_inbox_and_read_the_case_timeline(
    server: Server, officer: Person, prosecutor: Person, context: BrowserContext,
    tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, server, officer)
    page.click("nav >> text=Cases")
    page.wait_for_url("**/cases")
    urn = new_urn()
    page.fill("#urn", "nonsense")
    page.click("#open-case-button")
    expect(page.locator("#case-error")).to_contain_text("47XX1234567")
    expect(page.locator("#urn")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.fill("#urn", urn)
    page.click("#open-case-button")
    page.wait_for_url(f"**/cases/{urn}?opened=1")
    expect(page.locator("#case-opened")).to_be_visible()
    assert_accessible(page)

    org = prosecutor.account.org
    files = tmp_path / "out"
    first = officer.send([make_file(files, "interview.mp4", 2048)], urn, org)
    second = officer.send([make_file(files, "statement.pdf", 1024),
                           make_file(files, "cctv.mp4", 1024)], urn, org)
    other = officer.send([make_file(files, "note.txt", 512)], new_case(officer), org)
    prosecutor.ok("receive", first, "--out", str(tmp_path / "received"))

    p = context.new_page()
    sign_in(p, server, prosecutor)
    for tid in (first, second, other):
        expect(p.locator(f'tr[data-transfer="{tid}"]')).to_be_visible()
    p.fill("#f-q", urn.lower())
    p.click("#apply-filters")
    p.wait_for_url("**/inbox?q=*")
    assert f"q={urn.lower()}" in p.url
    expect(p.locator("#transfers tbody tr")).to_have_count(2)
    expect(p.locator(f'tr[data-transfer="{other}"]')).to_have_count(0)
    assert_accessible(p)
    # A filtered view is a URL: the one received in full is "delivered", the other "sent".
    p.goto(f"{server.web_url}/inbox?q={urn}&state=sent")
    expect(p.locator("#transfers tbody tr")).to_have_count(1)
    expect(p.locator(f'tr[data-transfer="{second}"]')).to_be_visible()
    expect(p.locator("#f-state")).to_have_value("sent")
    p.select_option("#f-state", "acknowledged")
    p.click("#apply-filters")
    expect(p.locator("#empty")).to_contain_text("No transfers match")
    p.click("#clear-filters")
    p.wait_for_url("**/inbox")
    expect(p.locator("#transfers tbody tr")).to_have_count(3)

    p.locator(f'tr[data-transfer="{first}"] a').click()
    p.wait_for_url(f"**/transfers/{first}")
    received = p.locator(f'#receipts tr[data-recipient="{prosecutor.email}"] td.received')
    expect(received).to_contain_text("1 of 1 item")
    p.click("#case-link")
    p.wait_for_url(f"**/cases/{urn}")
    (item,) = item_ids(officer, first)
    with server.world.ctx.unit_of_work() as session:
        ledger = [i for i, _ in LedgerStore(session).item_trail(item)]
    timeline = p.locator(f'ol.timeline[data-item="{item}"] li')
    expect(timeline).to_have_count(len(ledger))
    shown = [int(x) for x in timeline.evaluate_all("els => els.map(e => e.dataset.index)")]
    assert shown == ledger
    expect(p.locator(f'ol.timeline[data-item="{item}"]')).to_contain_text("item:received")
    expect(p.locator("section.case-transfer")).to_have_count(2)
    assert_accessible(p)


def test_revoke_after_confirming_and_download_the_access_report(
    server: Server, officer: Person, prosecutor: Person, context: BrowserContext,
    tmp_path: Path
) -> None:
    case = new_case(officer)
    transfer = officer.send([make_file(tmp_path / "out", "interview.mp4", 2048)], case,
                            prosecutor.account.org)
    page = context.new_page()
    sign_in(page, server, officer)
    page.goto(f"{server.web_url}/transfers/{transfer}")
    page.click("#revoke-link")
    page.wait_for_url(f"**/transfers/{transfer}/revoke")
    assert_accessible(page)
    page.fill("#reason", "sent to the wrong unit")
    # The browser's own check stops an unticked box; without it, the server says so too.
    page.locator("#confirm").evaluate("box => box.removeAttribute('required')")
    page.click("#revoke")
    expect(page.locator("#revoke-error")).to_contain_text("Tick the box")
    expect(page.locator("#reason")).to_have_value("sent to the wrong unit")
    page.check("#confirm")
    page.click("#revoke")
    page.wait_for_url(f"**/transfers/{transfer}?revoked=1")
    expect(page.locator("#state")).to_have_text("revoked")
    expect(page.locator("#revoked")).to_be_visible()
    expect(page.locator("#revoke-link")).to_have_count(0)

    page.click("#report-link")
    page.wait_for_url(f"**/reports/{transfer}")
    expect(page.locator("table.could-access")).to_contain_text("sent to the wrong unit")
    assert_accessible(page)
    with page.expect_download() as downloading:
        page.click("#export-csv")
    download = downloading.value
    assert download.suggested_filename == f"access-report-{transfer}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    ended = [r for r in rows if r["person"] == prosecutor.email and r["ended"] == "revoked"]
    assert ended
    assert ended[0]["end_reason"] == "sent to the wrong unit"

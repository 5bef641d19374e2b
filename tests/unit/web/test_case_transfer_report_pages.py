"""Cases, inbox and outbox with filters, the transfer page, revoking, access reports and the
evidence bundle, as server-rendered pages in process (the app with a TestClient that keeps
cookies), on SQLite and PostgreSQL.

The refusals matter most: another organisation's officer sees no case, transfer, report or
bundle of ours (404, as the API answers: no oracle), a filter never widens a list beyond the
person's own transfers, a recipient cannot revoke (403, the API's answer), and a CSV export
opens in a spreadsheet as text, not formulas.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from custody.bundle import verify_bundle
from custody.domain.people import Role
from custody.store.ledger_store import LedgerStore
from custody.web import report_pages, transfer_pages
from support.browser import BASE, Browser, csrf_of
from support.in_process import InProcess, Member, in_process
from support.world import CPS, OTHER, POLICE, new_urn

HOSTILE_AGENT = "=HYPERLINK(\"http://attacker.example\",\"x\")"


@pytest.fixture
def w(db_url: str, tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        stranger = w.add("stranger", "dc.other@northshire.police.example", OTHER, Role.OFFICER)
        for m in (officer, prosecutor, stranger):
            w.register_keys(m)
        w.add("auditor", "audit@cps.example", CPS, Role.AUDITOR)
        w.add("admin", "admin@tvp.police.example", POLICE, Role.ADMIN)
        w.add("colleague", "b.khan@cps.example", CPS, Role.PROSECUTOR)
        yield w


def browser_of(w: InProcess, key: str) -> Browser:
    b = Browser(w)
    b.sign_in(w.members[key])
    return b


@pytest.fixture
def as_(w: InProcess) -> Iterator[Any]:
    opened: list[Browser] = []

    def sign_in(key: str) -> Browser:
        b = browser_of(w, key)
        opened.append(b)
        return b

    yield sign_in
    for b in opened:
        b.close()


def send(w: InProcess, urn: str | None = None, to: str = "a.patel@cps.example",
         sender: str = "officer") -> tuple[str, str, str]:
    """A sent transfer of one item in case ``urn`` (a new one unless given): urn, transfer,
    item."""
    urn = urn or new_urn()
    member = w.members[sender]
    w.client.post("/api/v1/cases", headers=member.auth, json={"urn": urn})  # 409 if open
    ids = _transfer(w, member, to, urn)
    w.clock.advance(timedelta(seconds=1))  # newest first is then the order they were sent
    return urn, ids["transfer"], ids["item"]


def _transfer(w: InProcess, sender: Member, to: str, urn: str) -> dict[str, str]:
    # InProcess.transfer opens the case itself; with a case already open, it would refuse.
    real_post = w.client.post

    def post(url: str, **kwargs: Any) -> Any:
        if url == "/api/v1/cases":
            return type("Opened", (), {"status_code": 201})()
        return real_post(url, **kwargs)

    w.client.post = post  # type: ignore[method-assign]
    try:
        return w.transfer(sender, to, urn, send=True)
    finally:
        w.client.post = real_post  # type: ignore[method-assign]


def rows(html: str, table: str = "transfers") -> list[str]:
    body = html.split(f'id="{table}"', 1)
    if len(body) == 1:
        return []
    return re.findall(r'data-transfer="([0-9a-f-]+)"', body[1].split("</table>", 1)[0])


def receive(w: InProcess, key: str, item: str, agent: str = "pytest") -> None:
    member = w.members[key]
    headers = {**member.auth, "User-Agent": agent}
    assert w.client.get(f"/api/v1/items/{item}/content", headers=headers).status_code == 200
    done = w.client.post(f"/api/v1/items/{item}/receipt", headers=headers,
                         json={"manifest_sha256": "ab" * 32, "verified": True})
    assert done.status_code == 204, done.text


# ── inbox and outbox ──


def test_the_inbox_filters_by_case_search_state_organisation_and_overdue(
    w: InProcess, as_: Any
) -> None:
    urn_a = new_urn()
    _, a1, _ = send(w, urn_a)
    _, a2, _ = send(w, urn_a)
    urn_b, b1, _ = send(w)
    p = as_("prosecutor")

    everything = p.client.get("/inbox")
    assert everything.status_code == 200
    assert set(rows(everything.text)) == {a1, a2, b1}
    assert rows(p.client.get(f"/inbox?case={urn_a}").text) == [a2, a1]  # newest first
    assert rows(p.client.get(f"/inbox?q={urn_b.lower()}").text) == [b1]
    assert rows(p.client.get(f"/inbox?q={a1.upper()}").text) == [a1]
    assert set(rows(p.client.get("/inbox", params={"org": POLICE.upper()}).text)) == {a1, a2, b1}
    none = p.client.get("/inbox", params={"org": OTHER})
    assert rows(none.text) == []
    assert "No transfers match these filters." in none.text
    assert rows(p.client.get("/inbox?state=acknowledged").text) == []
    # The form keeps what was asked, so the filtered view is its own URL.
    assert f'value="{urn_a}"' in p.client.get(f"/inbox?case={urn_a}").text

    acked = w.client.post(f"/api/v1/transfers/{a1}/ack", headers=w.members["prosecutor"].auth,
                          json={"without_receipt": True})
    assert acked.status_code == 200, acked.text
    w.clock.advance(timedelta(days=30))  # past every deadline
    p = as_("prosecutor")  # the session has expired meanwhile
    overdue = p.client.get("/inbox?overdue=yes")
    assert set(rows(overdue.text)) == {a2, b1}
    assert "overdue</strong>" in overdue.text
    assert rows(p.client.get("/inbox?state=acknowledged").text) == [a1]

    # The sender's outbox: the recipient's organisation is the one filtered on.
    o = as_("officer")
    assert set(rows(o.client.get("/outbox", params={"org": CPS}).text)) == {a1, a2, b1}
    assert rows(o.client.get("/outbox", params={"org": POLICE}).text) == []


def test_bad_filters_say_what_to_do(w: InProcess, as_: Any) -> None:
    send(w)
    p = as_("prosecutor")
    for query, words in (
        ("state=lost", "No transfer state"),
        ("case=nonsense", "is not a case URN"),
        ("q=robert%27%3B--", "neither a case URN nor a transfer id"),
        ("after=bm90IGEgY3Vyc29y", "page cursor"),
    ):
        page = p.client.get(f"/inbox?{query}")
        assert page.status_code == 400, query
        assert words in page.text
        assert 'role="alert"' in page.text
        assert rows(page.text) == []


def test_filters_never_show_another_persons_transfers(w: InProcess, as_: Any) -> None:
    urn, tid, _ = send(w)
    for key in ("stranger", "colleague"):  # another organisation; the same one, not a recipient
        b = as_(key)
        for query in (f"q={tid}", f"case={urn}", f"q={urn}", "org=" + POLICE, "state=sent",
                      "overdue=yes"):
            for box in ("/inbox", "/outbox"):
                page = b.client.get(f"{box}?{query}")
                assert page.status_code == 200
                assert tid not in rows(page.text), (key, box, query)
    # and the recipient's own outbox does not list what they received
    assert rows(as_("prosecutor").client.get(f"/outbox?q={tid}").text) == []


def test_pages_follow_the_cursor_and_keep_the_filters(
    w: InProcess, as_: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer_pages, "PAGE", 2)
    urn = new_urn()
    sent = []
    for _ in range(5):
        sent.append(send(w, urn)[1])
    send(w)  # another case: filtered out
    p = as_("prosecutor")
    seen: list[str] = []
    url = f"/inbox?case={urn}"
    while True:
        page = p.client.get(url)
        seen += rows(page.text)
        found = re.search(r'id="older" href="([^"]+)"', page.text)
        if not found:
            break
        url = "/inbox" + found[1].replace("&amp;", "&")
        assert f"case={urn}" in url
    assert seen == list(reversed(sent))


# ── the transfer page, revoking ──


def test_the_transfer_page_shows_who_received_and_acknowledged_and_when(
    w: InProcess, as_: Any
) -> None:
    urn, tid, item = send(w)
    o = as_("officer")
    page = o.client.get(f"/transfers/{tid}").text
    assert 'data-recipient="a.patel@cps.example"' in page
    assert page.count("not yet") == 2
    receive(w, "prosecutor", item)
    w.client.post(f"/api/v1/transfers/{tid}/ack", headers=w.members["prosecutor"].auth, json={})
    page = o.client.get(f"/transfers/{tid}").text
    with w.ctx.unit_of_work() as session:
        trail = LedgerStore(session).item_trail(item)
    indexes = [i for i, _ in trail]
    received_row = page.split('data-recipient="a.patel@cps.example"', 1)[1].split("</tr>", 1)[0]
    assert f"1 of 1 item (ledger entry {indexes[-2]})" in received_row  # item:received
    assert f"(ledger entry {indexes[-1]})" in received_row  # transfer:acknowledged
    assert "without their own verified receipt" not in received_row
    assert 'id="overdue"' not in page
    assert f'href="/bundle/{tid}"' in page
    assert f'href="/reports/{tid}"' in page
    assert f'href="/cases/{urn}"' in page


def test_overdue_is_visible_on_the_transfer_page(w: InProcess, as_: Any) -> None:
    _, tid, _ = send(w)
    w.clock.advance(timedelta(days=30))  # signed in after: a session lasts 8 hours
    assert 'id="overdue"' in as_("prosecutor").client.get(f"/transfers/{tid}").text


def test_the_sender_revokes_with_a_reason_after_confirming(w: InProcess, as_: Any) -> None:
    _, tid, _ = send(w)
    o = as_("officer")
    page = o.client.get(f"/transfers/{tid}")
    assert f'href="/transfers/{tid}/revoke"' in page.text
    form = o.client.get(f"/transfers/{tid}/revoke")
    assert form.status_code == 200
    assert 'id="revoke-form"' in form.text
    csrf = csrf_of(form.text)

    unconfirmed = o.post(f"/transfers/{tid}/revoke", csrf, reason="sent to the wrong unit")
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.text
    assert "sent to the wrong unit" in unconfirmed.text  # what was typed is kept
    no_reason = o.post(f"/transfers/{tid}/revoke", csrf, reason="  ", confirm="yes")
    assert no_reason.status_code == 400
    assert "Give a reason" in no_reason.text
    assert w.client.get(f"/api/v1/transfers/{tid}",
                        headers=w.members["officer"].auth).json()["state"] == "sent"
    no_csrf = o.post(f"/transfers/{tid}/revoke", None, reason="wrong unit", confirm="yes")
    assert no_csrf.status_code == 403

    done = o.post(f"/transfers/{tid}/revoke", csrf, reason="sent to the wrong unit",
                  confirm="yes")
    assert done.status_code == 303
    assert done.headers["location"] == f"/transfers/{tid}?revoked=1"
    after = o.client.get(done.headers["location"]).text
    assert 'id="state">revoked' in after
    assert 'id="revoked"' in after
    assert 'id="revoke-link"' not in after
    assert len(w.world.entries("transfer:revoked")) == 1  # one item, one entry


def test_an_admin_of_the_sending_organisation_may_revoke_in_the_browser(
    w: InProcess, as_: Any
) -> None:
    _, tid, _ = send(w)
    a = as_("admin")
    form = a.client.get(f"/transfers/{tid}/revoke")
    assert form.status_code == 200
    done = a.post(f"/transfers/{tid}/revoke", csrf_of(form.text), reason="wrong unit",
                  confirm="yes")
    assert done.status_code == 200
    assert 'id="revoked"' in done.text


def test_a_recipient_cannot_revoke_and_another_organisation_learns_nothing(
    w: InProcess, as_: Any
) -> None:
    _, tid, _ = send(w)
    p = as_("prosecutor")
    assert 'id="revoke-link"' not in p.client.get(f"/transfers/{tid}").text
    assert p.client.get(f"/transfers/{tid}/revoke").status_code == 403
    csrf = p.csrf()
    assert p.post(f"/transfers/{tid}/revoke", csrf, reason="x", confirm="yes").status_code == 403
    s = as_("stranger")
    for path in (f"/transfers/{tid}", f"/transfers/{tid}/revoke"):
        assert s.client.get(path).status_code == 404, path
    assert s.post(f"/transfers/{tid}/revoke", s.csrf(), reason="x",
                  confirm="yes").status_code == 404
    assert s.client.get("/transfers/00000000-0000-4000-8000-000000000000/revoke"
                        ).status_code == 404  # the same answer as for one that exists
    assert w.client.get(f"/api/v1/transfers/{tid}",
                        headers=w.members["officer"].auth).json()["state"] == "sent"


# ── cases ──


def test_open_a_case_and_see_its_items_and_trail_with_ledger_indexes(
    w: InProcess, as_: Any
) -> None:
    o = as_("officer")
    listing = o.client.get("/cases")
    assert listing.status_code == 200
    assert 'id="open-case"' in listing.text
    urn = new_urn()
    opened = o.post("/cases", csrf_of(listing.text), urn=urn.lower())
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/cases/{urn}?opened=1"
    again = o.post("/cases", csrf_of(listing.text), urn=urn)
    assert again.status_code == 409
    assert "already" in again.text
    bad = o.post("/cases", csrf_of(listing.text), urn="nonsense")
    assert bad.status_code == 400
    assert "e.g. 47XX1234567" in bad.text
    assert 'role="alert"' in bad.text

    empty = o.client.get(f"/cases/{urn}")
    assert empty.status_code == 200
    assert 'id="no-transfers"' in empty.text
    _, tid, item = send(w, urn)
    receive(w, "prosecutor", item)
    page = o.client.get(f"/cases/{urn}").text
    assert f'data-transfer="{tid}"' in page
    assert f'href="/bundle/{tid}"' in page
    with w.ctx.unit_of_work() as session:
        trail = LedgerStore(session).item_trail(item)
    timeline = page.split(f'<ol class="timeline" aria-labelledby="i-{item}"', 1)[1]
    shown = [int(i) for i in re.findall(r'data-index="([0-9]+)"', timeline.split("</ol>")[0])]
    assert shown == [i for i, _ in trail]
    assert "item:received" in timeline
    assert "a.patel@cps.example" in timeline
    assert urn in o.client.get("/cases").text

    # The recipient sees the same URN's transfers to them (the police's case, not theirs).
    p = as_("prosecutor").client.get(f"/cases/{urn}")
    assert p.status_code == 200
    assert f'data-transfer="{tid}"' in p.text
    assert "another organisation's case" in p.text


def test_another_organisation_sees_no_case_and_an_auditor_no_case_pages(
    w: InProcess, as_: Any
) -> None:
    urn, tid, _ = send(w)
    s = as_("stranger")
    refused = s.client.get(f"/cases/{urn}")
    assert refused.status_code == 404
    recorded = [e for e in w.world.events("access:refused") if "case" in (e.detail or "")]
    assert len(recorded) == 1
    assert urn not in (recorded[0].detail or "")  # the attempt, not what was asked for
    assert tid not in refused.text
    assert urn not in s.client.get("/cases").text
    # Once the stranger's own organisation opens the URN, it is their own (empty) case.
    w.client.post("/api/v1/cases", headers=w.members["stranger"].auth, json={"urn": urn})
    own = s.client.get(f"/cases/{urn}")
    assert own.status_code == 200
    assert tid not in own.text
    # A colleague of the recipient who was not sent it: no case either.
    assert as_("colleague").client.get(f"/cases/{urn}").status_code == 404
    assert as_("auditor").client.get("/cases").status_code == 403  # content roles only


# ── access reports and bundles ──


def test_the_access_report_page_and_its_exports(w: InProcess, as_: Any) -> None:
    _, tid, item = send(w)
    receive(w, "prosecutor", item, agent=HOSTILE_AGENT)
    o = as_("officer")
    page = o.client.get(f"/reports/{tid}")
    assert page.status_code == 200
    assert "a.patel@cps.example" in page.text
    assert "item:received" in page.text
    assert "(=HYPERLINK(&#34;http://attacker.example&#34;" in page.text  # escaped, as text

    exported = o.client.get(f"/reports/{tid}/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="access-report-{tid}.csv"')
    table = list(csv.DictReader(io.StringIO(exported.text)))
    received = [r for r in table if r["event"] == "item:received"]
    assert received
    assert received[0]["user_agent"] == "'" + HOSTILE_AGENT
    assert received[0]["person"] == "a.patel@cps.example"
    assert received[0]["item"] == item
    for row in table:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell

    as_json = o.client.get(f"/reports/{item}/export.json")
    assert as_json.headers["content-disposition"].startswith("attachment;")
    body = json.loads(as_json.text)
    assert [r["item"] for r in body["reports"]] == [item]
    assert body["reports"][0]["accessed"][0]["user_agent"] == HOSTILE_AGENT  # JSON: verbatim


def test_csv_cells_that_a_spreadsheet_would_run_are_text() -> None:
    for hostile in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert report_pages.safe_cell(hostile) == "'" + hostile
    assert report_pages.safe_cell("a.patel@cps.example") == "a.patel@cps.example"
    assert report_pages.safe_cell(None) == ""


def test_who_may_read_a_report_or_download_a_bundle(w: InProcess, as_: Any) -> None:
    _, tid, item = send(w)
    allowed = {"officer": 200, "prosecutor": 200, "auditor": 200, "admin": 200}
    refused = {"stranger": 404, "colleague": 404}
    for key, status in {**allowed, **refused}.items():
        b = as_(key)
        for path in (f"/reports/{tid}", f"/reports/{item}/export.csv",
                     f"/reports/{tid}/export.json"):
            got = b.client.get(path)
            assert got.status_code == status, (key, path)
            if status == 404:
                assert "a.patel@cps.example" not in got.text
    for key, status in {"officer": 200, "prosecutor": 200, "auditor": 200,
                        "stranger": 404, "colleague": 404, "admin": 403}.items():
        assert as_(key).client.get(f"/bundle/{tid}").status_code == status, key


def test_the_bundle_download_verifies_offline(w: InProcess, as_: Any) -> None:
    _, tid, item = send(w)
    receive(w, "prosecutor", item)
    got = as_("prosecutor").client.get(f"/bundle/{tid}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="custody-bundle-{tid}.zip"')
    report = verify_bundle(got.content, w.world.log_key)
    with w.ctx.unit_of_work() as session:
        trail = [i for i, _ in LedgerStore(session).item_trail(item)]
    proven = {e["index"] for e in _manifest(got.content)["entries"]}
    assert set(trail) <= proven
    assert report is not None


def _manifest(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        loaded: dict[str, Any] = json.loads(zf.read("manifest.json"))
        return loaded


def test_pages_need_a_session_and_keep_the_csp(w: InProcess) -> None:
    b = Browser(w)
    for path in ("/cases", "/cases/47XX1234567", "/reports/x", "/bundle/x",
                 "/transfers/x/revoke"):
        got = b.client.get(path)
        assert got.status_code in (401, 303), path
    b.close()
    assert BASE.startswith("https://")

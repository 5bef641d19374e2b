"""The web application in a real browser: headless Chromium (Debian) driven by Playwright,
against a real ``custody serve``, with material sent by a person using the real CLI.

- sign in with password + TOTP, see the transfer in the inbox, acknowledge it through the
  form; the ledger has the entry (``custody history``);
- register a security key (Chromium's virtual authenticator over CDP), sign out, sign in
  with password + key;
- a form posted from another origin acts on nothing.

SQLite only: the pages use the same services and tables as the API, which run on both. Each
test has a prosecutor of its own (a security key is part of the story), in an organisation
of their own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from custody.domain.people import OrgKind
from support.chromium import sign_in
from support.server import People, Person, Server, make_file, new_case, new_person

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]

@pytest.fixture
def prosecutor(server: Server) -> Person:
    """A prosecutor of their own for each test: each signs in more than once, and a person
    has only so many fresh codes a minute."""
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"p.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, "prosecutor")


def send_one(people: People, prosecutor: Person, tmp_path: Path) -> str:
    case = new_case(people.officer)
    return people.officer.send([make_file(tmp_path / "out", "statement.pdf", 4096)], case,
                               prosecutor.account.org)


def test_sign_in_see_the_inbox_acknowledge_and_find_it_in_the_ledger(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    transfer = send_one(people, prosecutor, tmp_path)
    # The content is received and verified on the prosecutor's machine (the CLI), so the
    # acknowledgement follows a verified receipt.
    prosecutor.ok("receive", transfer, "--out", str(tmp_path / "received"))
    page = context.new_page()
    page.goto(f"{server.web_url}/login")
    notice = page.text_content("#notice") or ""
    assert "restricted criminal-justice system" in notice  # the CLI shows the same text

    sign_in(page, server, prosecutor)
    # Chromium keeps the Secure, __Host- cookie on http://localhost (a secure context).
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["__Host-custody"]
    assert session["secure"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/"
    page.click(f'tr[data-transfer="{transfer}"] a')
    page.wait_for_url(f"**/transfers/{transfer}")
    assert "custody receive" in (page.text_content("main") or "")
    page.click("#acknowledge")
    page.wait_for_url("**?acknowledged=1")
    assert page.text_content("#state") == "acknowledged"
    assert page.locator("#trail .event", has_text="transfer:acknowledged").count() >= 1

    history = prosecutor.ok("history", transfer).stdout
    assert f"{prosecutor.email}  acknowledged the transfer" in history
    assert any(
        e["type"] == "transfer:acknowledged" and e["actor_email"] == prosecutor.email
        for e in prosecutor.history(transfer)
    )


def test_a_security_key_registers_and_then_stands_in_for_the_code(
    server: Server, prosecutor: Person, context: BrowserContext
) -> None:
    page = context.new_page()
    sign_in(page, server, prosecutor)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )

    page.goto(f"{server.web_url}/security")
    page.fill("#key-label", "Chromium virtual key")
    page.click("#add-key-button")
    page.wait_for_selector("#key-added")
    assert page.text_content("#keys .label") == "Chromium virtual key"
    me = prosecutor.session["user_id"]
    added = server.query(
        "SELECT count(*) FROM security_events WHERE type = :t AND user_id = :u",
        t="account:webauthn_added", u=me,
    )
    assert added[0][0] == 1

    page.click("#logout")
    page.wait_for_url("**/login")
    assert "__Host-custody" not in {c["name"] for c in context.cookies()}
    assert page.goto(f"{server.web_url}/inbox").status == 401  # type: ignore[union-attr]

    sign_in(page, server, prosecutor, code=False)  # password, and the key instead of a code
    page.click("#use-key")
    page.wait_for_url("**/inbox")
    assert page.locator("#transfers, #empty").count() == 1
    by_key = server.query(
        "SELECT detail FROM security_events WHERE type = 'login:succeeded' "
        "AND detail LIKE 'security key%' AND user_id = :u", u=me,
    )
    assert len(by_key) == 1
    (count,) = server.query("SELECT sign_count FROM webauthn_credentials WHERE user_id = :u",
                            u=me)[0]
    assert count >= 1  # the authenticator's counter was checked and stored


class _Attacker(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = (
            f'<form method="post" action="{self.target}"><input name="csrf" value="guess">'
            "</form><script>document.forms[0].submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_site() -> Iterator[tuple[type[_Attacker], int]]:
    handler = type("Attacker", (_Attacker,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_a_form_posted_from_another_origin_does_nothing(
    server: Server,
    people: People,
    prosecutor: Person,
    context: BrowserContext,
    tmp_path: Path,
    attacker_site: tuple[type[_Attacker], int],
) -> None:
    handler, port = attacker_site
    transfer = send_one(people, prosecutor, tmp_path)
    handler.target = f"{server.web_url}/transfers/{transfer}/ack"
    page = context.new_page()
    sign_in(page, server, prosecutor)

    # Same site, other origin (another port on localhost): the Strict cookie goes along,
    # but the Origin and the missing CSRF token stop it.
    with page.expect_navigation(url=handler.target):
        page.goto(f"http://localhost:{port}/")
    assert "came from another site" in (page.text_content("#error") or "")
    # Another site altogether (127.0.0.1 is not localhost): the cookie stays home.
    with page.expect_navigation(url=handler.target):
        page.goto(f"http://127.0.0.1:{port}/")
    assert page.text_content("#error-title") == "Please sign in"

    assert prosecutor.transfer(transfer)["acknowledged_at"] is None
    refused = server.query("SELECT detail FROM security_events WHERE type = 'csrf:refused'")
    # Chromium says where the form came from (Fetch Metadata); that alone refuses it.
    assert any("Sec-Fetch-Site: same-site" in row[0] for row in refused), refused

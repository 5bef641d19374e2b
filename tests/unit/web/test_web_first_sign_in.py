"""A first sign-in in the browser alone (in process): activation code and a chosen password,
an authenticator app enrolled from the page's secret, recovery codes shown once; and the
refusals: a wrong code, the enrolment page after enrolment, another person's session.

The same story in real Chromium is tests/integration/test_browser_first_sign_in.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.services import accounts
from custody.store.models import ApiToken
from custody.store.models_security import SecurityEvent
from custody.web.first_sign_in import qr_svg
from support.browser import Browser, csrf_of, web_world
from support.in_process import InProcess
from support.world import CPS

_SECRET = re.compile(r'<code class="secret" id="secret">([A-Z2-7 ]+)</code>')
_CODES = re.compile(r"<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>")
PASSWORD = "a-long-chosen-password"  # noqa: S105 - a test account's


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with web_world(tmp_path) as w:
        yield w


def invite(w: InProcess, email: str = "new.person@cps.example") -> str:
    invited = accounts.invite_user(w.ctx, email, CPS, Role.PROSECUTOR)
    assert invited.activation_code is not None  # no SMTP here: the operator hands it over
    return invited.activation_code


def activate(browser: Browser, email: str, code: str, password: str = PASSWORD,
             again: str | None = None) -> Any:
    page = browser.client.get("/activate")
    assert page.status_code == 200
    assert "System-use notice" in page.text
    return browser.post("/activate", csrf=csrf_of(page.text), email=email,
                        activation_code=code, password=password,
                        password_again=again if again is not None else password)


def enrol_page(browser: Browser) -> tuple[str, pyotp.TOTP]:
    page = browser.client.get("/enrol")
    assert page.status_code == 200, page.text
    match = _SECRET.search(page.text)
    assert match, page.text
    assert '<svg role="img" aria-labelledby="qr-title" id="qr"' in page.text
    assert "style=" not in page.text  # the CSP allows no inline style
    return page.text, pyotp.TOTP(match[1].replace(" ", ""))


def events(w: InProcess, email: str) -> list[str]:
    with w.ctx.unit_of_work() as session:
        return [e.type for e in session.scalars(
            select(SecurityEvent).where(SecurityEvent.email == email).order_by(SecurityEvent.at))]


def test_activate_enrol_and_see_the_recovery_codes_once(w: InProcess, browser: Browser) -> None:
    email = "new.person@cps.example"
    done = activate(browser, email, invite(w, email))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/enrol"
    # The session is good for enrolment only: no inbox yet.
    assert browser.client.get("/inbox").status_code == 401
    html, totp = enrol_page(browser)
    _, totp_again = enrol_page(browser)  # a reload shows the same secret: the app has it
    assert totp_again.secret == totp.secret
    # The QR code is of the otpauth:// URI of that secret, for this person (segno draws the
    # same symbol for the same URI).
    uri = totp.provisioning_uri(name=email, issuer_name=w.settings.totp_issuer)
    assert str(qr_svg(uri)) in html
    confirmed = browser.post("/enrol", csrf=csrf_of(html), code=totp.at(w.clock.now()))
    assert confirmed.status_code == 200, confirmed.text
    codes = _CODES.findall(confirmed.text)
    assert len(codes) == 10
    assert confirmed.headers["cache-control"] == "no-store"
    assert 'href="/security#add-key"' in confirmed.text  # the offer of a security key
    # A reload re-sends the form: refused, and no code is shown again.
    replay = browser.post("/enrol", csrf=csrf_of(html), code=totp.at(w.clock.now()))
    assert replay.status_code == 403
    assert not any(c in replay.text for c in codes)
    assert browser.client.get("/enrol").status_code == 403  # the enrolment page is over
    assert browser.client.get("/inbox").status_code == 200  # a full session
    with w.ctx.unit_of_work() as session:
        live = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
    assert [(t.kind, t.label) for t in live] == [("session", "browser")]
    assert events(w, email) == ["account:activated", "login:succeeded"]


def test_a_wrong_code_shows_the_same_secret_and_enrols_nothing(
    w: InProcess, browser: Browser
) -> None:
    email = "new.person@cps.example"
    activate(browser, email, invite(w, email))
    html, totp = enrol_page(browser)
    right = totp.at(w.clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = browser.post("/enrol", csrf=csrf_of(html), code=wrong)
    assert refused.status_code == 400
    assert "That code is not right" in refused.text
    assert 'role="alert"' in refused.text
    assert totp.secret[:4] in refused.text.replace(" ", "")
    assert not _CODES.findall(refused.text)
    assert browser.client.get("/inbox").status_code == 401
    ok = browser.post("/enrol", csrf=csrf_of(refused.text), code=right)
    assert len(_CODES.findall(ok.text)) == 10


def test_refusals_of_activation_are_one_generic_answer_and_counted(
    w: InProcess, browser: Browser
) -> None:
    email = "new.person@cps.example"
    code = invite(w, email)
    mismatch = activate(browser, email, code, again="something-else-entirely")
    assert mismatch.status_code == 400
    assert "not the same" in mismatch.text
    short = activate(browser, email, code, password="short")  # noqa: S106
    assert short.status_code == 400
    assert "at least 12 characters" in short.text
    wrong = activate(browser, email, "WRONG-CODE")
    assert wrong.status_code == 401
    unknown = activate(browser, "nobody@cps.example", "WRONG-CODE")
    assert unknown.status_code == 401
    assert "activation code is not right" in wrong.text.lower()
    assert wrong.text.replace(email, "X") == unknown.text.replace("nobody@cps.example", "X")
    assert browser.session is None
    assert events(w, email) == ["login:failed"]
    assert activate(browser, email, code).status_code == 303  # the right code still works


def test_a_first_password_from_the_admin_signs_in_to_enrolment(
    w: InProcess, browser: Browser
) -> None:
    newbie = w.add("newbie", "newbie@cps.example", CPS, Role.PROSECUTOR, enrol=False)
    response = browser.post_login(newbie, code="")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/enrol"
    html, totp = enrol_page(browser)
    done = browser.post("/enrol", csrf=csrf_of(html), code=totp.at(w.clock.now()))
    assert len(_CODES.findall(done.text)) == 10
    # Later sign-ins need the code.
    later = Browser(w)
    try:
        needs = later.post_login(newbie, code="")
        assert needs.status_code == 401
        assert "authenticator app" in needs.text
        w.clock.advance(timedelta(seconds=30))
        assert later.post_login(newbie, code=totp.at(w.clock.now())).status_code == 303
        assert later.client.get("/inbox").status_code == 200
    finally:
        later.close()


def test_another_persons_session_cannot_enrol_or_see_the_secret(
    w: InProcess, browser: Browser
) -> None:
    email = "new.person@cps.example"
    activate(browser, email, invite(w, email))
    html, totp = enrol_page(browser)
    other = w.add("other", "other@cps.example", CPS, Role.PROSECUTOR)
    intruder = Browser(w)
    try:
        intruder.sign_in(other)
        page = intruder.client.get("/enrol")
        assert page.status_code == 403
        assert totp.secret[:8] not in page.text.replace(" ", "")
        posted = intruder.post("/enrol", csrf=intruder.csrf(), code=totp.at(w.clock.now()))
        assert posted.status_code == 403
        # With the newcomer's CSRF token but the intruder's own cookie: still refused.
        assert intruder.post("/enrol", csrf=csrf_of(html), code="000000").status_code == 403
    finally:
        intruder.close()
    # The newcomer's enrolment is untouched.
    done = browser.post("/enrol", csrf=csrf_of(html), code=totp.at(w.clock.now()))
    assert len(_CODES.findall(done.text)) == 10


def test_no_session_no_enrolment_page(browser: Browser) -> None:
    page = browser.client.get("/enrol", headers={"Accept": "text/html"})
    assert page.status_code == 401
    assert 'href="/login"' in page.text
    assert browser.post("/enrol", code="123456").status_code in (401, 403)


def test_the_root_leads_each_to_where_they_are_in_signing_in(
    w: InProcess, browser: Browser
) -> None:
    assert browser.client.get("/").headers["location"] == "/login"  # nobody yet
    email = "root.person@cps.example"
    activate(browser, email, invite(w, email))
    assert browser.client.get("/").headers["location"] == "/enrol"  # enrolling
    html, totp = enrol_page(browser)
    assert browser.post("/enrol", csrf=csrf_of(html), code=totp.at(w.clock.now())).is_success
    assert browser.client.get("/").headers["location"] == "/inbox"  # a prosecutor's home
    logout = browser.post("/logout", csrf=csrf_of(browser.client.get("/security").text))
    assert logout.status_code == 303
    browser.client.cookies.set("__Host-custody", "not-a-session", domain="testserver")
    assert browser.client.get("/").headers["location"] == "/login"  # a session no longer good

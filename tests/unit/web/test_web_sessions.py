"""Browser sessions: the cookie, the login page, rotation, logout, expiry, kind separation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.http.deps import LOGIN_COOKIE, SESSION_COOKIE
from custody.http.middleware import WEB_CONTENT_SECURITY_POLICY
from custody.services.accounts import GENERIC_REFUSAL
from custody.store.models import ApiToken
from custody.store.models_security import SecurityEvent
from support.browser import BASE, Browser
from support.in_process import InProcess, Member, in_process
from support.world import CPS, POLICE

NOTICE = "Authorised use only. This test notice is served by the deployment and shown at login."


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    database = f"sqlite:///{tmp_path / 'custody.db'}"
    with in_process(tmp_path, database, system_use_notice=NOTICE) as w:
        w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        yield w


def cookie_attributes(set_cookie: str, name: str) -> dict[str, str | bool]:
    parsed = SimpleCookie()
    parsed.load(set_cookie)
    morsel = parsed[name]
    return {k: morsel[k] for k in ("secure", "httponly", "samesite", "path", "domain")}


def events(w: InProcess, type_: str) -> list[SecurityEvent]:
    with w.ctx.unit_of_work() as session:
        return list(session.scalars(select(SecurityEvent).where(SecurityEvent.type == type_)))


def test_the_login_page_shows_the_notice_and_sets_a_host_only_pre_session_cookie(
    w: InProcess, browser: Browser
) -> None:
    page = browser.client.get("/login")
    assert page.status_code == 200
    assert NOTICE in page.text
    assert w.client.get("/api/v1/notice").json()["notice"] == NOTICE  # the CLI shows the same
    assert page.headers["content-security-policy"] == WEB_CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text
    assert "style=" not in page.text
    assert cookie_attributes(page.headers["set-cookie"], LOGIN_COOKIE) == {
        "secure": True,
        "httponly": True,
        "samesite": "strict",
        "path": "/",
        "domain": "",
    }
    # JSON keeps the API's policy, which allows nothing.
    assert (
        "default-src 'none'; frame-ancestors"
        in w.client.get("/healthz").headers["content-security-policy"]
    )


def test_a_login_sets_a_secure_httponly_strict_session_cookie(
    w: InProcess, browser: Browser
) -> None:
    response = browser.sign_in(w.members["prosecutor"])
    assert response.headers["location"] == "/inbox"
    header = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE + "=")
    )
    attributes = cookie_attributes(header, SESSION_COOKIE)
    assert attributes == {
        "secure": True,
        "httponly": True,
        "samesite": "strict",
        "path": "/",
        "domain": "",
    }
    assert "Max-Age=28800" in header  # the absolute lifetime, 8 hours
    with w.ctx.unit_of_work() as session:
        kinds = [
            r.kind
            for r in session.scalars(
                select(ApiToken).where(ApiToken.revoked_at.is_(None), ApiToken.label == "browser")
            )
        ]
    assert kinds == ["session"]
    inbox = browser.client.get("/inbox")
    assert inbox.status_code == 200
    assert inbox.headers["cache-control"] == "no-store"
    assert len(events(w, "login:succeeded")) >= 3  # two enrolments, then this one


def test_wrong_password_and_unknown_person_get_the_same_answer(
    w: InProcess, browser: Browser
) -> None:
    prosecutor = w.members["prosecutor"]
    code = w.code(prosecutor)
    wrong = browser.post_login(
        Member(prosecutor.email, CPS, "prosecutor", "not-the-password"), code=code
    )
    nobody = browser.post_login(
        Member("nobody@cps.example", CPS, "prosecutor", "whatever-pw"), code=code
    )
    assert wrong.status_code == nobody.status_code == 401
    message = GENERIC_REFUSAL.replace("(", "").split(" or ")[0]
    assert message in wrong.text
    assert message in nobody.text
    assert wrong.text.replace(prosecutor.email, "X") == nobody.text.replace(
        "nobody@cps.example", "X"
    )
    assert browser.session is None
    assert {e.detail for e in events(w, "login:failed")} >= {
        "wrong password",
        "unknown or disabled",
    }


def test_a_right_password_without_a_code_asks_for_the_code(w: InProcess, browser: Browser) -> None:
    response = browser.post_login(w.members["prosecutor"], code="")
    assert response.status_code == 401
    assert "code from your authenticator app" in response.text
    assert browser.session is None


def test_a_person_without_a_second_factor_is_sent_to_enrol_with_a_session_for_that_only(
    w: InProcess, browser: Browser
) -> None:
    newbie = w.add("newbie", "new@cps.example", CPS, Role.PROSECUTOR, enrol=False)
    response = browser.post_login(newbie, code="")
    assert response.status_code == 303
    assert response.headers["location"] == "/enrol"
    assert browser.session is not None
    with w.ctx.unit_of_work() as session:
        live = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
        mine = [t for t in live if t.user_id == newbie.user_id]
        assert [(t.kind, t.scopes) for t in mine] == [("session", "enrol")]
    assert browser.client.get("/inbox").status_code == 401  # nothing but enrolment
    assert browser.client.get("/enrol").status_code == 200


def test_login_rotates_the_session_and_the_old_cookie_stops_working(
    w: InProcess, browser: Browser
) -> None:
    browser.sign_in(w.members["prosecutor"])
    first = browser.session
    assert first
    browser.sign_in(w.members["prosecutor"])
    second = browser.session
    assert second
    assert second != first
    old = Browser(w)
    old.client.cookies.set(SESSION_COOKIE, first, domain="testserver")
    assert old.client.get("/inbox").status_code == 401
    assert browser.client.get("/inbox").status_code == 200


def test_logout_revokes_the_session(w: InProcess, browser: Browser) -> None:
    browser.sign_in(w.members["prosecutor"])
    cookie = browser.session
    assert cookie
    response = browser.post("/logout", browser.csrf())
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert browser.session is None  # the cookie was cleared
    again = Browser(w)
    again.client.cookies.set(SESSION_COOKIE, cookie, domain="testserver")
    page = again.client.get("/inbox")
    assert page.status_code == 401
    assert "Please sign in" in page.text


def test_an_idle_session_ends(w: InProcess, browser: Browser) -> None:
    browser.sign_in(w.members["prosecutor"])
    w.clock.advance(timedelta(minutes=29))
    assert browser.client.get("/inbox").status_code == 200  # use keeps it alive
    w.clock.advance(timedelta(minutes=29))
    assert browser.client.get("/inbox").status_code == 200
    w.clock.advance(timedelta(minutes=31))
    assert browser.client.get("/inbox").status_code == 401
    w.clock.advance(timedelta(seconds=1))
    assert browser.client.get("/inbox").status_code == 401  # and it stays ended


def test_a_session_ends_after_its_absolute_lifetime_even_in_use(
    w: InProcess, browser: Browser
) -> None:
    browser.sign_in(w.members["prosecutor"])
    for _ in range(23):  # 23 x 20 min = 7 h 40 min, never idle
        w.clock.advance(timedelta(minutes=20))
        assert browser.client.get("/inbox").status_code == 200
    w.clock.advance(timedelta(minutes=20))  # 8 hours
    assert browser.client.get("/inbox").status_code == 401


def test_a_session_is_never_a_bearer_token_and_an_api_token_never_a_cookie(
    w: InProcess, browser: Browser
) -> None:
    prosecutor = w.members["prosecutor"]
    browser.sign_in(prosecutor)
    session = browser.session
    assert (
        w.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code
        == 401
    )
    api_token = w.login(prosecutor)["token"]
    assert (
        w.client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 200
    )
    other = Browser(w)
    other.client.cookies.set(SESSION_COOKIE, api_token, domain="testserver")
    assert other.client.get("/inbox").status_code == 401
    # A bearer token does not open a page either.
    plain = Browser(w)
    assert (
        plain.client.get("/inbox", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 401
    )


def test_the_security_page_lists_sessions_and_tokens_and_revokes_them(
    w: InProcess, browser: Browser
) -> None:
    prosecutor = w.members["prosecutor"]
    api_token = w.login(prosecutor)
    browser.sign_in(prosecutor)
    page = browser.client.get("/security")
    assert "browser session (this one)" in page.text
    assert api_token["token_id"] in page.text
    revoked = browser.post(f"/security/tokens/{api_token['token_id']}/revoke", browser.csrf())
    assert revoked.status_code == 303
    assert (
        w.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {api_token['token']}"}
        ).status_code
        == 401
    )
    assert BASE.startswith("https://")

"""What the web sign-in records: a sign-in the web app refuses is never a success."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.services.accounts import ENROLMENT_NEEDED
from custody.store.models import ApiToken
from custody.store.models_security import SecurityEvent
from support.browser import Browser, web_world
from support.in_process import InProcess, Member
from support.world import CPS


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with web_world(tmp_path) as w:
        yield w


def _sign_ins(w: InProcess, member: Member) -> list[tuple[str, str | None]]:
    with w.ctx.unit_of_work() as session:
        return [
            (e.type, e.detail)
            for e in session.scalars(
                select(SecurityEvent)
                .where(SecurityEvent.email == member.email, SecurityEvent.type.like("login:%"))
                .order_by(SecurityEvent.at)
            )
        ]


def _live_tokens(w: InProcess) -> list[ApiToken]:
    with w.ctx.unit_of_work() as session:
        return list(session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))))


def test_a_first_sign_in_at_the_form_gets_a_session_good_for_enrolment_only(
    w: InProcess, browser: Browser
) -> None:
    newbie = w.add("newbie", "new@cps.example", CPS, Role.PROSECUTOR, enrol=False)
    response = browser.post_login(newbie, code="")
    assert response.status_code == 303
    assert response.headers["location"] == "/enrol"
    assert _sign_ins(w, newbie) == [("login:succeeded", "enrolment")]
    (token,) = _live_tokens(w)
    assert (token.kind, token.scopes) == ("session", "enrol")
    assert browser.client.get("/inbox").status_code == 401  # enrolment only


def test_the_security_key_path_records_it_the_same_way(w: InProcess, browser: Browser) -> None:
    newbie = w.add("newbie", "new@cps.example", CPS, Role.PROSECUTOR, enrol=False)
    response = browser.post(
        "/login/webauthn/options",
        csrf=browser.login_form(),
        email=newbie.email,
        password=newbie.password,
    )
    assert response.status_code == 401, response.text
    assert _sign_ins(w, newbie) == [("login:refused", ENROLMENT_NEEDED)]
    assert _live_tokens(w) == []


def test_the_same_password_from_the_cli_still_starts_enrolment(w: InProcess) -> None:
    newbie = w.add("newbie", "new@cps.example", CPS, Role.PROSECUTOR, enrol=False)
    assert w.post_login(newbie).json()["enrolment_required"] is True
    assert _sign_ins(w, newbie) == [("login:succeeded", "enrolment")]

"""The web application's own script calls the JSON API with the session cookie: the same
policies decide; a state-changing call needs our origin and the session's CSRF token in
X-CSRF-Token; a cookie never stands for an API token, nor a session for a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.http.deps import CSRF_HEADER, SESSION_COOKIE
from custody.store.models_security import SecurityEvent
from support.browser import BASE, Browser
from support.in_process import InProcess, Member, in_process
from support.world import POLICE


class Scene:
    def __init__(self, w: InProcess) -> None:
        self.w = w
        self.officer: Member = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        w.register_keys(self.officer)
        self.browser = Browser(w)
        self.browser.sign_in(self.officer)
        self.token = self.browser.csrf()

    def create_case(self, urn: str, **headers: str) -> object:
        return self.browser.client.post("/api/v1/cases", json={"urn": urn}, headers=headers)

    def refusals(self) -> set[str]:
        """What the refusals recorded say (identical ones are folded into one record)."""
        with self.w.ctx.unit_of_work() as session:
            rows = session.scalars(
                select(SecurityEvent).where(SecurityEvent.type == "csrf:refused")
            )
            return {e.detail or "" for e in rows}


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        made = Scene(w)
        yield made
        made.browser.close()


def test_reads_by_session_cookie_follow_the_policies(scene: Scene) -> None:
    inbox = scene.browser.client.get("/api/v1/transfers/inbox")
    assert inbox.status_code == 200, inbox.text
    assert inbox.json()["transfers"] == []
    me = scene.browser.client.get("/api/v1/me").json()
    assert me["email"] == scene.officer.email
    # An officer's session reaches no admin route, as their API token would not.
    assert scene.browser.client.get("/api/v1/people").status_code == 403


def test_a_state_change_needs_the_token_and_our_origin(scene: Scene) -> None:
    token = {CSRF_HEADER: scene.token, "Origin": BASE}
    assert scene.create_case("47TV0000001", **{"Origin": BASE}).status_code == 403  # no token
    wrong = {CSRF_HEADER: scene.token[:-1] + ("0" if scene.token[-1] != "0" else "1")}
    assert scene.create_case("47TV0000002", **wrong, Origin=BASE).status_code == 403
    elsewhere = {**token, "Origin": "https://evil.example"}
    assert scene.create_case("47TV0000003", **elsewhere).status_code == 403
    fetch_metadata = {**token, "Sec-Fetch-Site": "cross-site"}
    assert scene.create_case("47TV0000004", **fetch_metadata).status_code == 403
    assert scene.refusals() == {
        "POST /api/v1/cases: CSRF token missing or wrong (content:send)",
        "POST /api/v1/cases: Origin: https://evil.example (content:send)",
        "POST /api/v1/cases: Sec-Fetch-Site: cross-site (content:send)",
    }
    made = scene.create_case("47TV0000005", **token)
    assert made.status_code == 201, made.text


def test_a_cookie_is_never_an_api_token_nor_a_session_a_bearer(scene: Scene) -> None:
    session = scene.browser.session
    assert session
    as_bearer = scene.w.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {session}"}
    )
    assert as_bearer.status_code == 401
    api_token = scene.w.login(scene.officer)["token"]
    stranger = Browser(scene.w)
    stranger.client.cookies.set(SESSION_COOKIE, api_token, domain="testserver")
    assert stranger.client.get("/api/v1/me").status_code == 401
    stranger.close()
    # With an Authorization header, the header alone decides: a bad one is not rescued by
    # a good cookie.
    bad = scene.browser.client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401

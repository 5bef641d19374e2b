"""CSRF: every state-changing web request needs our origin and the session's own token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.http.deps import LOGIN_COOKIE
from custody.store.models import Transfer
from custody.store.models_security import SecurityEvent
from support.browser import BASE, Browser
from support.in_process import InProcess, in_process
from support.world import CPS, POLICE


class Scene:
    def __init__(self, w: InProcess) -> None:
        self.w = w
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        w.add("prosecutor2", "b.okafor@cps.example", CPS, Role.PROSECUTOR)
        for m in (officer, prosecutor):
            w.register_keys(m)
        self.transfer = w.transfer(officer, CPS, "47TV0000001", send=True)["transfer"]
        self.browser = Browser(w)
        self.browser.sign_in(prosecutor)
        self.ack = f"/transfers/{self.transfer}/ack"

    def acknowledged(self) -> bool:
        with self.w.ctx.unit_of_work() as session:
            return session.get_one(Transfer, self.transfer).acknowledged_at is not None

    def refusals(self) -> list[str]:
        with self.w.ctx.unit_of_work() as session:
            return [
                e.detail or ""
                for e in session.scalars(
                    select(SecurityEvent).where(SecurityEvent.type == "csrf:refused")
                )
            ]


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        s = Scene(w)
        yield s
        s.browser.close()


def refused(response: object, scene: Scene) -> None:
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", "")
    assert status == 403, text
    assert "came from another site" in text
    assert not scene.acknowledged()


def test_the_form_with_its_token_acknowledges(scene: Scene) -> None:
    # Nobody here received it with the CLI: the form says so, as the ledger will.
    response = scene.browser.post(scene.ack, scene.browser.csrf(), without_receipt="yes")
    assert response.status_code == 303
    assert scene.acknowledged()
    assert scene.refusals() == []


def test_a_missing_token_is_refused_and_recorded(scene: Scene) -> None:
    refused(scene.browser.post(scene.ack), scene)
    assert scene.refusals() == [
        "POST /transfers/{transfer_id}/ack: CSRF token missing or wrong (content:read, web)"
    ]


def test_a_wrong_token_is_refused(scene: Scene) -> None:
    token = scene.browser.csrf()
    refused(scene.browser.post(scene.ack, token[:-1] + ("0" if token[-1] != "0" else "1")), scene)


def test_the_token_of_another_session_is_refused(scene: Scene) -> None:
    other = Browser(scene.w)
    other.sign_in(scene.w.members["prosecutor2"])
    refused(scene.browser.post(scene.ack, other.csrf()), scene)
    # ...even another session of the same person.
    same_person = Browser(scene.w)
    same_person.sign_in(scene.w.members["prosecutor"])
    refused(scene.browser.post(scene.ack, same_person.csrf()), scene)


def test_a_cross_origin_request_is_refused_even_with_the_right_token(scene: Scene) -> None:
    token = scene.browser.csrf()
    refused(scene.browser.post(scene.ack, token, origin="https://evil.example"), scene)
    response = scene.browser.client.post(
        scene.ack, data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    refused(response, scene)
    assert any("Origin: https://evil.example" in r for r in scene.refusals())
    assert any("Sec-Fetch-Site: cross-site" in r for r in scene.refusals())


def test_the_login_form_needs_its_pre_session_cookie_and_token(scene: Scene) -> None:
    w = scene.w
    fresh = Browser(w)
    prosecutor = w.members["prosecutor"]
    fields = {
        "email": prosecutor.email,
        "password": prosecutor.password,
        "code": w.code(prosecutor),
    }
    no_token = fresh.client.post("/login", data=fields, headers={"Origin": BASE})
    assert no_token.status_code == 403
    token = fresh.login_form()
    fresh.client.cookies.delete(LOGIN_COOKIE)  # a token without the cookie it belongs to
    no_cookie = fresh.client.post(
        "/login", data={**fields, "csrf": token}, headers={"Origin": BASE}
    )
    assert no_cookie.status_code == 403
    assert fresh.session is None
    # Login CSRF: an attacker's own pre-session token does not fit the victim's cookie.
    attacker = Browser(w)
    theirs = attacker.login_form()
    victim = Browser(w)
    victim.login_form()
    assert (
        victim.client.post(
            "/login", data={**fields, "csrf": theirs}, headers={"Origin": BASE}
        ).status_code
        == 403
    )
    assert victim.session is None

"""Lockout after repeated failures, generic refusals, every attempt recorded; token life."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from custody.domain.people import Role
from custody.services.throttle import back_off
from custody.store.models_security import SecurityEvent
from support.in_process import in_process
from support.world import POLICE


def _events(w: object, type_: str) -> int:
    with w.ctx.unit_of_work() as session:  # type: ignore[attr-defined]
        return int(session.scalar(
            select(func.count()).select_from(SecurityEvent).where(SecurityEvent.type == type_)))


def test_back_off_grows_then_caps() -> None:
    assert [back_off(n).total_seconds() for n in (1, 3, 4, 5, 6, 20)] == [0, 0, 1, 2, 4, 60]


def test_twenty_wrong_passwords_lock_the_account(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        wrong = {"email": officer.email, "password": "not-the-password-at-all"}
        messages = set()
        for _ in range(20):
            w.clock.advance(timedelta(seconds=61))  # past any back-off
            refused = w.client.post("/api/v1/login", json=wrong)
            assert refused.status_code == 401
            messages.add(refused.json()["error"]["message"])
        # Locked: the right password and code are refused too, with the same message.
        w.clock.advance(timedelta(minutes=10))
        right = w.post_login(officer, code=w.code(officer))
        assert right.status_code == 401
        messages.add(right.json()["error"]["message"])
        unknown = w.client.post("/api/v1/login", json={**wrong, "email": "nobody@tvp.example"})
        messages.add(unknown.json()["error"]["message"])
        assert len(messages) == 1, messages
        assert _events(w, "login:failed") == 22
        # When the lockout ends (refused retries do not extend it), the right password and a
        # fresh code work again.
        w.clock.advance(timedelta(minutes=4, seconds=30))
        assert w.post_login(officer, code=w.code(officer)).status_code == 200
        assert _events(w, "login:succeeded") == 2  # enrolment's first login, and this one


def test_back_off_refuses_quick_retries(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        for _ in range(6):
            w.client.post("/api/v1/login", json={"email": officer.email, "password": "nope-nope"})
        # Six quick failures: the next attempt must wait, even with the right credentials.
        assert officer.totp is not None
        next_step = officer.totp.at(w.clock.now() + timedelta(seconds=30))
        assert w.post_login(officer, code=next_step).status_code == 401
        w.clock.advance(timedelta(seconds=61))
        assert w.post_login(officer, code=w.code(officer)).status_code == 200


def test_lookalike_address_is_a_generic_refusal(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        # A Cyrillic o (U+043E) in "jones": not the same account, and no hint the real one exists.
        lookalike = {"email": "dc.j\u043enes@tvp.police.example", "password": officer.password}
        refused = w.client.post("/api/v1/login", json=lookalike)
        assert refused.status_code == 401
        assert "e-mail address or password is wrong" in refused.json()["error"]["message"]


def test_revoked_token_stops_at_once_and_expired_gets_clear_401(
    tmp_path: Path, db_url: str
) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        stolen = w.login(officer)
        stolen_auth = {"Authorization": f"Bearer {stolen['token']}"}
        assert w.client.get("/api/v1/transfers/inbox", headers=stolen_auth).status_code == 200
        listed = w.client.get("/api/v1/tokens", headers=officer.auth).json()
        assert {t["id"] for t in listed} == {officer.token_id, stolen["token_id"]}
        assert [t["current"] for t in listed if t["id"] == officer.token_id] == [True]
        gone = w.client.delete(f"/api/v1/tokens/{stolen['token_id']}", headers=officer.auth)
        assert gone.json() == {"revoked": 1}
        refused = w.client.get("/api/v1/transfers/inbox", headers=stolen_auth)
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "this token is not valid"
        # Expiry: the clock passes the token's lifetime.
        w.clock.advance(timedelta(hours=w.settings.token_ttl_hours, seconds=1))
        expired = w.client.get("/api/v1/me", headers=officer.auth)
        assert expired.status_code == 401
        assert expired.headers["WWW-Authenticate"] == "Bearer"
        assert expired.json()["error"]["message"] == "your token has expired"
        assert "custody login" in expired.json()["error"]["hint"]
        assert _events(w, "access:denied") == 2


def test_revoke_all(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        other = w.login(officer)
        assert w.client.delete("/api/v1/tokens", headers=officer.auth).json() == {"revoked": 2}
        for token in (officer.token, other["token"]):
            headers = {"Authorization": f"Bearer {token}"}
            assert w.client.get("/api/v1/me", headers=headers).status_code == 401

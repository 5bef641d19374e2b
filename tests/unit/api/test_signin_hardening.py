"""Paused sign-ins (back-off, lockout) are answered before any password hash runs, so a
flood of them takes no argon2 time from everyone else; each is still recorded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from custody.domain.people import Role
from custody.services import refusal_records
from custody.services.accounts import GENERIC_REFUSAL
from custody.store.models_security import SecurityEvent
from support.in_process import in_process
from support.world import POLICE


class CountingHasher:
    """How often a password was verified, by the real argon2 hasher."""

    def __init__(self) -> None:
        self.verified = 0


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    real = PasswordHasher.verify

    def verify(self: PasswordHasher, hash_: str | bytes, password: str | bytes) -> bool:
        counting.verified += 1
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)  # the seam this test measures
    return counting


def test_a_paused_sign_in_runs_no_password_hash(tmp_path: Path, hasher: CountingHasher) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'c.db'}") as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        wrong = {"email": officer.email, "password": "not-the-password-at-all"}
        hasher.verified = 0
        messages = set()
        for _ in range(4):  # the free failures: each one checked
            refused = w.client.post("/api/v1/login", json=wrong)
            messages.add(refused.json()["error"]["message"])
        assert hasher.verified == 4
        for _ in range(40):  # backing off now: refused before any hash
            refused = w.client.post("/api/v1/login", json=wrong)
            assert refused.status_code == 401
            messages.add(refused.json()["error"]["message"])
        assert officer.totp is not None
        next_step = officer.totp.at(w.clock.now() + timedelta(seconds=30))
        right = w.post_login(officer, code=next_step)  # paused: even the right one
        assert right.status_code == 401
        messages.add(right.json()["error"]["message"])
        assert hasher.verified == 4
        assert messages == {GENERIC_REFUSAL}
        # Every attempt is still recorded: folded, with the exact count.
        w.clock.advance(timedelta(minutes=2))
        refusal_records.flush_closed(w.ctx)
        with w.ctx.unit_of_work() as session:
            failed = list(session.scalars(
                select(SecurityEvent).where(SecurityEvent.type == "login:failed")))
        assert sum(e.occurrences for e in failed) == 45
        assert len(failed) <= 4  # "wrong password" and "back-off": a first and a summary each
        # When the back-off has passed, the password is checked again.
        assert w.post_login(officer, code=w.code(officer)).status_code == 200
        assert hasher.verified == 5


def test_an_address_locked_out_runs_no_password_hash_for_any_account(
    tmp_path: Path, hasher: CountingHasher
) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", address_lockout_failures=3) as w:
        hasher.verified = 0
        for n in range(3):
            w.client.post("/api/v1/login", json={"email": f"guess{n}@tvp.police.example",
                                                 "password": "not-the-password-at-all"})
        assert hasher.verified == 3
        for n in range(10):  # other accounts, never tried before: the address is locked
            refused = w.client.post("/api/v1/login", json={
                "email": f"other{n}@tvp.police.example", "password": "not-the-password-at-all"})
            assert refused.json()["error"]["message"] == GENERIC_REFUSAL
        assert hasher.verified == 3

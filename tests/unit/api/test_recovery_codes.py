"""Recovery codes: long enough to resist guessing, stored so that a copy of the database
alone cannot confirm a guess, good once; codes from before the upgrade as documented."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, select, text

from custody.domain.people import Role
from custody.services import second_factor, tokens
from custody.services.accounts import GENERIC_REFUSAL
from custody.store.migrate import alembic_config
from custody.store.models_security import RECOVERY_KEYED, RECOVERY_LEGACY, RecoveryCode
from support.in_process import InProcess, in_process
from support.world import POLICE

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS = re.compile(rf"^[{CROCKFORD}]{{4}}(-[{CROCKFORD}]{{4}})+$")


def _stored(w: InProcess, user_id: str) -> list[RecoveryCode]:
    with w.ctx.unit_of_work() as session:
        return list(session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)))


def _user_id(w: InProcess, token: str) -> str:
    return tokens.authenticate(w.ctx, token).user_id


def _unkeyed_digests(code: str) -> set[str]:
    """What someone with only a copy of the database could compute from a guess."""
    forms = {code, code.lower(), code.replace("-", ""), code.replace("-", "").lower()}
    digests = set()
    for form in forms:
        for message in (form, f"custody recovery {form}"):
            digests.add(hashlib.sha256(message.encode()).hexdigest())
    return digests



def test_recovery_codes_carry_at_least_80_bits_and_read_easily(tmp_path: Path) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'c.db'}") as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        codes = officer.recovery_codes
        assert len(codes) == 10
        assert len(set(codes)) == 10
        for code in codes:
            assert _GROUPS.match(code), code  # groups of four, no I, L, O or U
            symbols = code.replace("-", "")
            assert len(symbols) * 5 >= 80  # 32 symbols: 5 bits each


def test_a_copy_of_the_database_cannot_confirm_a_guess(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        user_id = _user_id(w, officer.token)
        stored = {r.code_hash for r in _stored(w, user_id)}
        assert {r.scheme for r in _stored(w, user_id)} == {RECOVERY_KEYED}
        for code in officer.recovery_codes:
            assert not stored & _unkeyed_digests(code)
        # With the server secret the server can; with any other secret, nothing matches.
        codes = officer.recovery_codes
        right = {second_factor.hash_recovery_code(w.ctx, user_id, c) for c in codes}
        assert right == stored
        elsewhere = replace(w.ctx, server_secret=bytes(range(32)))
        guessed = {second_factor.hash_recovery_code(elsewhere, user_id, c) for c in codes}
        assert not guessed & stored


def test_a_recovery_code_works_once_however_it_is_typed(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        code = officer.recovery_codes[2]
        typed = " ".join(code.lower().split("-")).replace("0", "o").replace("1", "l")
        assert w.post_login(officer, recovery_code=typed).status_code == 200
        again = w.post_login(officer, recovery_code=code)
        assert again.status_code == 401
        assert again.json()["error"]["message"] == GENERIC_REFUSAL
        assert w.post_login(officer, recovery_code=officer.recovery_codes[3]).status_code == 200


def test_codes_from_before_the_upgrade_still_work_once(tmp_path: Path, db_url: str) -> None:
    """The documented decision: unkeyed codes made before migration 0007 are kept (marked
    "sha256") and accepted until used or until the person enrols again."""
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        user_id = _user_id(w, officer.token)
        old = "a1b2-c3d4-e5f6"  # the old format: 3 x 4 hex digits
        digest = hashlib.sha256(b"custody recovery a1b2c3d4e5f6").hexdigest()
        with w.ctx.unit_of_work() as session:
            session.add(RecoveryCode(user_id=user_id, code_hash=digest, scheme=RECOVERY_LEGACY,
                                     created_at=w.clock.now()))
        assert w.post_login(officer, recovery_code="A1B2 C3D4 E5F6").status_code == 200
        assert w.post_login(officer, recovery_code=old).status_code == 401
        # Only a row marked unkeyed is compared with the unkeyed digest.
        other = hashlib.sha256(b"custody recovery ffffffffffff").hexdigest()
        with w.ctx.unit_of_work() as session:
            session.add(RecoveryCode(user_id=user_id, code_hash=other, scheme=RECOVERY_KEYED,
                                     created_at=w.clock.now()))
        assert w.post_login(officer, recovery_code="ffff-ffff-ffff").status_code == 401


def test_the_upgrade_marks_existing_codes_unkeyed_and_new_ones_keyed(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO organisations (id, name, kind, recovery_recipient, default_ack_hours,"
                " created_at) VALUES ('o1', 'Org', 'police', 'age1x', 72, :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO users (id, email, org_id, role, password_hash, disabled, created_at)"
                " VALUES ('u1', 'a@b.example', 'o1', 'officer', 'x', false, :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO recovery_codes (id, user_id, code_hash, created_at)"
                " VALUES ('r1', 'u1', :h, :now)"), {"h": "ab" * 32, "now": now})
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        with engine.connect() as connection:
            schemes = connection.execute(text("SELECT scheme FROM recovery_codes")).scalars()
            assert list(schemes) == [RECOVERY_LEGACY]
    finally:
        engine.dispose()

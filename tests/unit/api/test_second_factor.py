"""Sign-in with a second factor: enrolment, codes used once, recovery codes, reset."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from custody.domain.people import Role
from custody.services import second_factor
from custody.store.models_security import SecondFactor
from support.in_process import in_process
from support.world import CPS, POLICE


def test_no_case_material_without_a_second_factor(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        newbie = w.add("newbie", "new.officer@tvp.police.example", POLICE, Role.OFFICER,
                       enrol=False)
        first = w.post_login(newbie).json()
        assert first["enrolment_required"] is True
        assert first["scopes"] == "enrol"
        enrolling = {"Authorization": f"Bearer {first['token']}"}
        for method, path in (("GET", "/api/v1/transfers/inbox"), ("GET", "/api/v1/me"),
                             ("POST", "/api/v1/cases"), ("GET", "/api/v1/tokens")):
            refused = w.client.request(method, path, headers=enrolling, json={"urn": "47XX1"})
            assert refused.status_code == 401, (path, refused.text)
            assert "second factor" in refused.json()["error"]["message"]


def test_enrolment_then_code_login(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        assert len(officer.recovery_codes) == 10
        me = w.client.get("/api/v1/me", headers=officer.auth)
        assert me.status_code == 200
        # The secret is sealed at rest: its base32 text is nowhere in the row.
        with w.ctx.unit_of_work() as session:
            row = session.scalars(select(SecondFactor)).one()
            assert officer.totp is not None
            assert officer.totp.secret.encode() not in row.sealed_secret
        # Now the password alone is not enough; the server asks for the code.
        asked = w.post_login(officer)
        assert asked.status_code == 401
        assert asked.json()["error"]["code"] == "second_factor_required"
        assert w.login(officer)["scopes"] == "read send"


def test_a_code_is_good_once(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        code = w.code(officer)
        assert w.post_login(officer, code=code).status_code == 200
        replay = w.post_login(officer, code=code)
        assert replay.status_code == 401
        assert replay.json()["error"]["code"] == "not_authenticated"


def test_recovery_codes_work_once(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        spare = officer.recovery_codes[3]
        assert w.post_login(officer, recovery_code=spare).status_code == 200
        assert w.post_login(officer, recovery_code=spare).status_code == 401


def test_scopes_narrow_and_limited_by_role(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        prosecutor = w.add("p", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        read_only = w.login(prosecutor, scopes=["read"])
        assert read_only["scopes"] == "read"
        headers = {"Authorization": f"Bearer {read_only['token']}"}
        assert w.client.get("/api/v1/transfers/inbox", headers=headers).status_code == 200
        refused = w.client.post("/api/v1/cases", headers=headers, json={"urn": "47XX1234567"})
        assert refused.status_code == 403
        too_much = w.post_login(prosecutor, code=w.code(prosecutor), scopes=["admin"])
        assert too_much.status_code == 403


def test_reset_is_a_ledger_entry_and_forces_enrolment(tmp_path: Path, db_url: str) -> None:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        reset = second_factor.reset(w.ctx, officer.email, "phone lost")
        entry = w.client.get(f"/api/v1/ledger/entries/{reset.ledger_index}")
        assert entry.status_code == 200
        assert b"account:second_factor_reset" in __import__("base64").b64decode(
            entry.json()["entry"])
        # Old tokens stop at once; the next login enrols a new app, with the one-time code
        # (the operator's, on a server without SMTP) and not with the password alone.
        assert w.client.get("/api/v1/me", headers=officer.auth).status_code == 401
        assert reset.enrolment_code is not None
        refused = w.post_login(officer)
        assert refused.status_code == 401
        assert "enrolment-code" in refused.json()["error"]["hint"]
        w.enrol(officer, enrolment_code=reset.enrolment_code)
        assert w.client.get("/api/v1/me", headers=officer.auth).status_code == 200

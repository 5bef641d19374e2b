"""Security keys: the relying party, and challenges that are single-use and short-lived.

A real key registers and signs in through Chromium's virtual authenticator in
tests/integration/test_web_browser.py; here, answers are forged by hand.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.domain.people import Role
from custody.errors import Conflict, NotAuthenticated
from custody.services import webauthn_keys
from custody.services.accounts import GENERIC_REFUSAL
from custody.services.context import Origin
from custody.settings import Settings
from custody.store.models import User
from custody.store.models_security import SecurityEvent, WebAuthnCredential
from support.in_process import InProcess, in_process
from support.world import CPS

RP = webauthn_keys.RelyingParty("testserver", "https://testserver")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_assertion(challenge: str, credential_id: str) -> str:
    client_data = json.dumps(
        {"type": "webauthn.get", "challenge": challenge, "origin": RP.origin}
    ).encode()
    return json.dumps(
        {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(b"\0" * 37),
                "signature": b64url(b"\0" * 64),
            },
        }
    )


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with in_process(
        tmp_path, f"sqlite:///{tmp_path / 'custody.db'}", public_url="https://testserver"
    ) as w:
        member = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        with w.ctx.unit_of_work() as session:
            user_id = session.scalars(select(User.id).where(User.email == member.email)).one()
            session.add(
                WebAuthnCredential(
                    user_id=user_id,
                    credential_id=b64url(b"key-1"),
                    public_key=b"\0",
                    label="blue key",
                    created_at=w.clock.now(),
                )
            )
        yield w


def test_the_relying_party_is_the_public_address_and_never_a_header_in_production() -> None:
    public = Settings(public_url="https://custody.example:8443/")
    assert webauthn_keys.relying_party(public, "https://evil.example") == (
        webauthn_keys.RelyingParty("custody.example", "https://custody.example:8443")
    )
    with pytest.raises(Conflict, match="public address"):
        webauthn_keys.relying_party(Settings(), "https://evil.example")
    development = Settings(mode="development")
    assert webauthn_keys.relying_party(development, "http://localhost:8000").id == "localhost"


def test_a_challenge_answers_once_and_a_bad_signature_is_a_failed_login(w: InProcess) -> None:
    options = json.loads(webauthn_keys.login_options(w.ctx, "a.patel@cps.example", RP))
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(b"key-1")]
    answer = forged_assertion(options["challenge"], b64url(b"key-1"))
    with pytest.raises(NotAuthenticated) as first:
        webauthn_keys.login(w.ctx, RP, answer, Origin("192.0.2.1"))
    assert first.value.message == GENERIC_REFUSAL
    with pytest.raises(NotAuthenticated, match="expired or was used already"):
        webauthn_keys.login(w.ctx, RP, answer, Origin("192.0.2.1"))
    with w.ctx.unit_of_work() as session:
        failed = session.scalars(
            select(SecurityEvent.detail).where(SecurityEvent.type == "login:failed")
        ).all()
    assert len(failed) == 1
    assert (failed[0] or "").startswith("security key refused")


def test_a_challenge_expires(w: InProcess) -> None:
    options = json.loads(webauthn_keys.login_options(w.ctx, "a.patel@cps.example", RP))
    w.clock.advance(webauthn_keys.CHALLENGE_TTL + timedelta(seconds=1))
    with pytest.raises(NotAuthenticated, match="expired"):
        webauthn_keys.login(
            w.ctx, RP, forged_assertion(options["challenge"], b64url(b"key-1")), Origin()
        )


def test_a_challenge_never_issued_is_refused(w: InProcess) -> None:
    with pytest.raises(NotAuthenticated, match="expired or was used already"):
        webauthn_keys.login(
            w.ctx, RP, forged_assertion(b64url(b"made up"), b64url(b"key-1")), Origin()
        )


def test_without_a_key_the_person_is_told_to_use_the_code(w: InProcess) -> None:
    w.add("officer", "b.okafor@cps.example", CPS, Role.PROSECUTOR)
    with pytest.raises(Conflict, match="no security key"):
        webauthn_keys.login_options(w.ctx, "b.okafor@cps.example", RP)

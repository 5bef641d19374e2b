"""Who a request came from: ``X-Forwarded-For`` counts only from CUSTODY_TRUSTED_PROXIES.

A real ``custody serve`` on loopback. A client sends a failed sign-in claiming to be
203.0.113.9; the address in the security event (the one the address lockout counts)
is that claim only when the loopback peer is a proxy the operator named.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from support.cli import base_env, ok, run_custody
from support.server import serving

CLAIMED = "203.0.113.9"  # TEST-NET-3: nobody's address


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, cli_runner: None) -> Path:
    work = tmp_path_factory.mktemp("forwarded")
    data = work / "data"
    ok(run_custody(["admin", "init", "--data-dir", str(data)], base_env(HOME=str(work)),
                   cwd=work))
    return data


def _recorded_address(data_dir: Path, email: str) -> list[str]:
    engine = create_engine(f"sqlite:///{data_dir / 'custody.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT address FROM security_events WHERE type = 'login:failed' "
                "AND email = :email"), {"email": email})
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("trusted", "recorded"), [
    (None, "127.0.0.1"),              # the default: no forwarded header is believed
    ("10.0.0.5,10.1.0.0/24", "127.0.0.1"),  # proxies named, but not this peer
    ("127.0.0.1", CLAIMED),           # the peer is a named proxy: its header counts
], ids=["no-setting", "other-proxies", "loopback-trusted"])
def test_forwarded_for_counts_only_from_a_trusted_proxy(
    data_dir: Path, trusted: str | None, recorded: str
) -> None:
    env = {"CUSTODY_TRUSTED_PROXIES": trusted} if trusted is not None else {}
    email = f"nobody-{uuid.uuid4().hex[:8]}@tvp.police.example"
    with serving(data_dir, base_env(HOME=str(data_dir.parent), **env)) as served:
        response = httpx.post(f"{served.url}/api/v1/login", timeout=30,
                              json={"email": email, "password": "not the password, clearly"},
                              headers={"X-Forwarded-For": CLAIMED})
        assert response.status_code == 401, response.text
        assert _recorded_address(data_dir, email) == [recorded]

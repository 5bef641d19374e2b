"""Key transparency: a server that swaps a public key is caught by the client.

The server names whose keys to wrap an item key for, and which key signed a
manifest. Here the server's own database is altered — as a compromised server
would — and the clients must refuse, because the ledger (checked against the
log key pinned at login) shows different keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from custody.crypto.keys import UserKeys
from custody.crypto.signing import SigningKey
from support.cli import assert_fails
from support.server import People, Server, make_file, new_case
from support.world import CPS


@contextlib.contextmanager
def _swapped_key(server: Server, user_id: str, column: str, value: str) -> Iterator[None]:
    """Replace a user's current public key in the server's database, then put it back."""
    assert column in ("age_recipient", "signing_key")
    select = text(f"SELECT {column} FROM user_keys WHERE user_id = :u AND retired_at IS NULL")  # noqa: S608 - fixed column names
    update = text(f"UPDATE user_keys SET {column} = :v WHERE user_id = :u AND retired_at IS NULL")  # noqa: S608
    with server.engine.begin() as conn:
        original = conn.execute(select, {"u": user_id}).scalar_one()
        conn.execute(update, {"v": value, "u": user_id})
    try:
        yield
    finally:
        with server.engine.begin() as conn:
            conn.execute(update, {"v": original, "u": user_id})


def test_sender_refuses_a_swapped_recipient_key(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    file = make_file(tmp_path, "statement.txt", content=b"for the prosecutor only\n")
    attacker = UserKeys.generate().age_recipient
    before = server.snapshot()
    with _swapped_key(server, prosecutor.session["user_id"], "age_recipient", attacker):
        result = officer.run("send", str(file), "--case", urn, "--to", prosecutor.account.email)
    assert_fails(result, "not the one the ledger shows", "encryption key")
    after = server.snapshot()
    # Nothing was sealed for the attacker's key: no wrap exists for it.
    wraps = server.query("SELECT count(*) FROM key_wraps WHERE recipient = :r", r=attacker)
    assert wraps[0][0] == 0
    assert after.get("key_wraps", 0) == before.get("key_wraps", 0)


def test_receiver_refuses_a_swapped_sender_signing_key(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    file = make_file(tmp_path / "out", "exhibit.csv", content=b"JB/1,still\n")
    transfer_id = officer.send([file], urn, CPS)
    forged = SigningKey.generate().public_key.to_b64()
    dest = tmp_path / "in"
    with _swapped_key(server, officer.session["user_id"], "signing_key", forged):
        result = prosecutor.run("receive", transfer_id, "--out", str(dest))
    assert_fails(result, "not the one the ledger shows", "signing key")
    assert not dest.exists() or not any(dest.iterdir())
    # With the server honest again the same transfer is received and verified.
    prosecutor.ok("receive", transfer_id, "--out", str(dest))
    assert (dest / "exhibit.csv").read_bytes() == b"JB/1,still\n"

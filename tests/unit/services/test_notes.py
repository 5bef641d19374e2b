"""Reasons live beside the public log: shown to trail readers, erasable, never in an entry."""

from __future__ import annotations

import hashlib

import pytest

from custody.cli.main import main
from custody.errors import Conflict, NotFound
from custody.services import delivery, notes, trails
from custody.store.ledger_store import LedgerStore
from support.world import Cast

REASON = "laptop stolen from DC Example's car"


def test_a_reason_is_a_commitment_in_the_log_and_text_beside_it_until_erased(
    cast: Cast, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    w = cast
    monkeypatch.setenv("CUSTODY_DATABASE_URL", db_url)  # the operator's command, same database
    monkeypatch.setenv("CUSTODY_SECRET_KEY", "an operator's server secret, long enough")
    tid = w.transfer()
    delivery.revoke(w.ctx, w.officer, tid, REASON)
    with w.ctx.unit_of_work() as session:
        store = LedgerStore(session)
        log = b"".join(store.entry(i) for i in range(store.size()))
    assert b"laptop" not in log
    assert b"Example" not in log
    (revoked,) = [
        t for t in trails.history(w.ctx, w.officer, tid) if t.entry.type == "transfer:revoked"
    ]
    digest = revoked.entry.data[notes.KEY]
    assert revoked.data["reason"] == REASON  # the trail reader sees it, and can check it:
    with w.ctx.unit_of_work() as session:
        salt = session.get_one(notes.Note, digest).salt
    assert salt is not None
    assert hashlib.sha256(notes.PREFIX + salt + REASON.encode()).hexdigest() == digest

    assert main(["admin", "erase-reason", digest, "--data-dir", str(w.ctx.settings.data_dir)]) == 0
    (after,) = [
        t for t in trails.history(w.ctx, w.officer, tid) if t.entry.type == "transfer:revoked"
    ]
    assert after.data["reason"] == notes.ERASED
    assert after.entry == revoked.entry  # the entry itself never changes
    with pytest.raises(Conflict, match="erased"):
        notes.erase(w.ctx, digest, "op")
    with pytest.raises(NotFound):
        notes.erase(w.ctx, "0" * 64, "op")
    capsys.readouterr()

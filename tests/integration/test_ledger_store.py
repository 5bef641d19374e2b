"""LedgerStore on SQLite and PostgreSQL: proofs, tampering, checkpoints, concurrency."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from custody.crypto.signing import SigningKey
from custody.ledger import merkle
from custody.ledger.checkpoint import open_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.note import Signer
from custody.store.db import Base, make_engine, make_sessionmaker, transaction
from custody.store.ledger_models import LedgerCheckpointRow, LedgerEntryRow
from custody.store.ledger_store import LedgerCorrupted, LedgerStore, init_ledger

ORIGIN = "custody.test/ledger"
SIGNER = Signer(ORIGIN, SigningKey(bytes(range(32))))
T = datetime(2026, 3, 1, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src"


def _entry(i: int, item: str | None = "i") -> Entry:
    return Entry(
        "item:accessed", T, "system", item=None if item is None else f"{item}{i % 3}", data={"n": i}
    )


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    f = make_sessionmaker(engine)
    with transaction(f) as s:
        init_ledger(s)
    yield f
    engine.dispose()


def _fill(factory: sessionmaker[Session], n: int) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    with transaction(factory) as s:
        for a in LedgerStore(s).append_many([_entry(i) for i in range(n // 2)]):
            tree.append(a.entry_bytes)
    for i in range(n // 2, n):
        with transaction(factory) as s:
            tree.append(LedgerStore(s).append(_entry(i, None if i % 5 == 0 else "i")).entry_bytes)
    return tree


def test_appends_and_proofs_agree_with_memory_tree(factory: sessionmaker[Session]) -> None:
    tree = _fill(factory, 70)
    with factory() as s:
        store = LedgerStore(s)
        assert store.size() == 70
        for size in (1, 2, 33, 64, 65, 70):
            assert store.root(size) == tree.root(size)
            for index in {0, size // 2, size - 1}:
                assert store.inclusion_proof(index, size) == merkle.inclusion_proof(
                    tree, index, size
                )
            assert store.consistency_proof(1, size) == merkle.consistency_proof(tree, 1, size)
        trail = store.item_trail("i1")
        assert trail[0][0] == 1
        for (prev_i, prev_b), (_, body) in itertools.pairwise(trail):
            assert Entry.from_bytes(body).prev == PrevRef(prev_i, merkle.leaf_hash(prev_b).hex())
        assert store.tile(0, 0, 70) == b"".join(tree.nodes([(0, i) for i in range(70)]))
        assert store.entry_bundle(0, 70)[2 : 4 + 0] == store.entry(0)[:2]
        assert store.verify_all().ok


def _tamper(factory: sessionmaker[Session], how: str) -> None:
    e = LedgerEntryRow.__table__
    with transaction(factory) as s:
        if how == "edit":
            body = s.scalar(select(e.c.body).where(e.c.index == 17))
            s.execute(
                update(e).where(e.c.index == 17).values(body=body.replace(b'"n":17', b'"n":71'))
            )
        elif how == "delete":
            s.execute(delete(e).where(e.c.index == 17))
        else:  # swap rows 17 and 40, whole rows, leaf hashes included
            rows = {r.index: r for r in s.execute(select(e).where(e.c.index.in_([17, 40])))}
            for a, b in ((17, 40), (40, 17)):
                s.execute(
                    update(e)
                    .where(e.c.index == a)
                    .values(
                        body=rows[b].body,
                        leaf_hash=rows[b].leaf_hash,
                        item_id=rows[b].item_id,
                        type=rows[b].type,
                    )
                )


@pytest.mark.parametrize("how", ["edit", "delete", "swap"])
def test_tampering_is_found_at_the_first_bad_index(
    factory: sessionmaker[Session], how: str
) -> None:
    _fill(factory, 60)
    _tamper(factory, how)
    with factory() as s:
        result = LedgerStore(s).verify_all()
    assert not result.ok
    assert result.first_bad_index == 17, str(result)


def test_sign_checkpoint_refuses_an_inconsistent_history(factory: sessionmaker[Session]) -> None:
    _fill(factory, 10)
    with transaction(factory) as s:
        first = LedgerStore(s).sign_checkpoint(SIGNER, ORIGIN, T)
        assert first is not None
        assert LedgerStore(s).sign_checkpoint(SIGNER, ORIGIN, T) is None  # did not grow
    assert open_checkpoint(first.note, SIGNER.verifier, ORIGIN).size == 10
    with transaction(factory) as s:
        LedgerStore(s).append(_entry(10))
        s.execute(update(LedgerCheckpointRow).values(root_hash=merkle.leaf_hash(b"forged")))
    with transaction(factory) as s, pytest.raises(LedgerCorrupted, match="not consistent"):
        LedgerStore(s).sign_checkpoint(SIGNER, ORIGIN, T)
    with factory() as s:
        result = LedgerStore(s).verify_all()
    assert result.first_bad_index == 9
    assert "checkpoint" in (result.reason or "")


WORKER = """
import sys
from datetime import UTC, datetime
from custody.ledger.entry import Entry
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import LedgerStore
f = make_sessionmaker(make_engine(sys.argv[1]))
for i in range(int(sys.argv[2])):
    with transaction(f) as s:
        LedgerStore(s).append(Entry("item:accessed", datetime.now(UTC), "system", item="p"))
"""


def test_concurrent_writers_never_fork_the_log(factory: sessionmaker[Session], db_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, "25"],
            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(20):
                with transaction(factory) as s:
                    store = LedgerStore(s)
                    store.append(_entry(i, f"t{k}-"))
                    if i % 5 == 0:
                        store.sign_checkpoint(SIGNER, ORIGIN, datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert not errors
    with transaction(factory) as s:
        store = LedgerStore(s)
        store.sign_checkpoint(SIGNER, ORIGIN, datetime.now(UTC))
        total = 6 * 20 + 2 * 25
        assert store.size() == total
        indexes = s.scalars(select(LedgerEntryRow.index).order_by(LedgerEntryRow.index)).all()
        assert indexes == list(range(total))
        sizes = s.scalars(select(LedgerCheckpointRow.size).order_by(LedgerCheckpointRow.size)).all()
        for old, new in itertools.pairwise(sizes):
            a, b = store.checkpoint_at(old), store.checkpoint_at(new)
            assert a is not None
            assert b is not None
            merkle.verify_consistency(
                old, new, a.root_hash, b.root_hash, store.consistency_proof(old, new)
            )
        assert store.verify_all().ok

"""``custody ledger verify`` on a real server data dir (SQLite): OK, then one altered row at a time.

The data dir is made by ``custody admin init``; entries are appended and checkpoints signed by
custody's own sequencer, as a server would. Each case alters a copy of the database with plain
``sqlite3``, behind custody's back, and the command must fail naming the first bad index.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.ledger.entry import Entry
from custody.ledger.note import Signer
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import LedgerStore
from support.cli import assert_fails, base_env, ok, run_custody

ORIGIN = "custody.test/ledger-cli"
SIZE = 48
BATCH = 16  # a checkpoint is signed after each batch
T = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _entry(i: int) -> Entry:
    item = None if i % 4 == 0 else f"item-{i % 3}"  # three items' trails, and system entries
    return Entry("item:accessed", T, "system", item=item, data={"n": i})


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 Merkle tree hash, written out here from the RFC."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, cli_runner: None) -> Path:
    """An initialised server data dir whose log holds SIZE entries and three checkpoints."""
    data_dir = tmp_path_factory.mktemp("ledger-cli") / "server"
    env = base_env(HOME=str(data_dir.parent))
    init = ok(
        run_custody(
            ["admin", "init", "--data-dir", str(data_dir), "--origin", ORIGIN],
            env,
            cwd=data_dir.parent,
        )
    )
    assert f"{ORIGIN}+" in init.stdout
    signer = Signer.from_skey((data_dir / "secrets" / "log-signing.key").read_text().strip())
    engine = make_engine(f"sqlite:///{data_dir / 'custody.db'}")
    try:
        sessions = make_sessionmaker(engine)
        for start in range(0, SIZE, BATCH):
            with transaction(sessions) as session:
                store = LedgerStore(session)
                store.append_many([_entry(i) for i in range(start, start + BATCH)])
                assert store.sign_checkpoint(signer, ORIGIN, T) is not None
    finally:
        engine.dispose()
    return data_dir


@pytest.fixture
def data_dir(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the pristine data dir, free to damage."""
    copy = tmp_path / "server"
    shutil.copytree(pristine, copy)
    return copy


def _ledger_verify(data_dir: Path, *, real: bool = False) -> subprocess.CompletedProcess[str]:
    return run_custody(
        ["ledger", "verify", "--data-dir", str(data_dir)],
        base_env(HOME=str(data_dir.parent)),
        cwd=data_dir.parent,
        real=real,
    )


def test_untouched_ledger_is_ok(data_dir: Path, cli_runner: None) -> None:
    with sqlite3.connect(data_dir / "custody.db") as conn:
        bodies = [b for (b,) in conn.execute('SELECT body FROM ledger_entries ORDER BY "index"')]
        (cp_root,) = conn.execute(
            "SELECT root_hash FROM ledger_checkpoints WHERE size = ?", (SIZE,)
        ).fetchone()
    assert len(bodies) == SIZE
    root = _mth(bodies)
    assert root == cp_root
    result = ok(_ledger_verify(data_dir, real=True))  # the installed console script itself
    assert f"Ledger OK: {SIZE} entries, root {root.hex()}" in result.stdout


def _flip_body(k: int) -> Callable[[sqlite3.Connection], None]:
    def alter(conn: sqlite3.Connection) -> None:
        (body,) = conn.execute('SELECT body FROM ledger_entries WHERE "index" = ?', (k,)).fetchone()
        changed = bytearray(body)
        changed[len(changed) // 2] ^= 0x01
        conn.execute('UPDATE ledger_entries SET body = ? WHERE "index" = ?', (bytes(changed), k))

    return alter


def _delete(k: int) -> Callable[[sqlite3.Connection], None]:
    def alter(conn: sqlite3.Connection) -> None:
        assert conn.execute('DELETE FROM ledger_entries WHERE "index" = ?', (k,)).rowcount == 1

    return alter


def _swap_bodies(i: int, j: int) -> Callable[[sqlite3.Connection], None]:
    def alter(conn: sqlite3.Connection) -> None:
        query = 'SELECT body FROM ledger_entries WHERE "index" = ?'
        (a,) = conn.execute(query, (i,)).fetchone()
        (b,) = conn.execute(query, (j,)).fetchone()
        assert a != b
        update = 'UPDATE ledger_entries SET body = ? WHERE "index" = ?'
        conn.execute(update, (b, i))
        conn.execute(update, (a, j))

    return alter


def _forge_with_leaf(k: int) -> Callable[[sqlite3.Connection], None]:
    """A careful forger: another valid entry, its leaf hash recomputed in ledger_entries too."""

    def alter(conn: sqlite3.Connection) -> None:
        (body,) = conn.execute('SELECT body FROM ledger_entries WHERE "index" = ?', (k,)).fetchone()
        forged = bytes(body).replace(b'"n":%d' % k, b'"n":%d' % (k + 1000))
        assert forged != body
        leaf = hashlib.sha256(b"\x00" + forged).digest()
        conn.execute(
            'UPDATE ledger_entries SET body = ?, leaf_hash = ? WHERE "index" = ?', (forged, leaf, k)
        )

    return alter


@pytest.mark.parametrize(
    ("alter", "first_bad", "words"),
    [
        pytest.param(_flip_body(13), 13, ["hash"], id="one byte of entry 13"),
        pytest.param(_delete(22), 22, ["missing"], id="entry 22 deleted"),
        pytest.param(_swap_bodies(27, 9), 9, [], id="entries 9 and 27 swapped"),
        pytest.param(_forge_with_leaf(17), 17, [], id="entry 17 forged with its leaf hash"),
        pytest.param(_flip_body(SIZE - 1), SIZE - 1, [], id="one byte of the last entry"),
    ],
)
def test_altered_ledger_names_the_first_bad_entry(
    data_dir: Path,
    cli_runner: None,
    alter: Callable[[sqlite3.Connection], None],
    first_bad: int,
    words: list[str],
) -> None:
    ok(_ledger_verify(data_dir))  # the copy verifies before it is altered
    with sqlite3.connect(data_dir / "custody.db") as conn:
        alter(conn)
    result = _ledger_verify(data_dir)
    said = assert_fails(result, *words, code=8)
    assert "Ledger OK" not in result.stdout
    named = re.findall(r"\bentry (\d+)\b", said)
    assert named, said
    assert int(named[0]) == first_bad, said

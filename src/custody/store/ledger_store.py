"""The ledger sequencer and reader over the database (RFC 9162 log, C2SP checkpoints).

:class:`LedgerStore` is bound to a SQLAlchemy ``Session`` whose transaction the
caller owns: an entry commits with the change it records, or neither does.
Appends lock the head row (``SELECT ... FOR UPDATE``; SQLite is already
serialised by ``BEGIN IMMEDIATE``), so several app nodes never fork the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session

from custody.errors import IntegrityError, InvalidInput, NotFound
from custody.ledger import heads, merkle, tiles
from custody.ledger.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.note import Signer
from custody.ledger.replay import LedgerVerification, Mismatch, Replay, node_count
from custody.store import ledger_heads
from custody.store.ledger_models import (
    LedgerCheckpointRow,
    LedgerEntryRow,
    LedgerHead,
    LedgerNode,
)

__all__ = [
    "Appended",
    "DbHashSource",
    "LedgerCorrupted",
    "LedgerStore",
    "LedgerVerification",
    "StoredCheckpoint",
    "init_ledger",
]

_ENTRIES: Table = LedgerEntryRow.__table__  # type: ignore[assignment]
_NODES: Table = LedgerNode.__table__  # type: ignore[assignment]
_HEAD_ID = 1
_VERIFY_CHUNK = 4096  # entries replayed per query
_IN_CHUNK = 400  # bound parameters per IN (...) list, well under every backend's limit


class LedgerCorrupted(IntegrityError):
    """The stored log disagrees with itself or with a signed checkpoint."""


@dataclass(frozen=True)
class Appended:
    """Where an entry landed in the log, with its leaf hash and the bytes that were hashed."""

    index: int
    leaf_hash: bytes
    entry_bytes: bytes


@dataclass(frozen=True)
class StoredCheckpoint(SignedCheckpoint):
    created_at: datetime


class DbHashSource:
    """:class:`custody.ledger.merkle.HashSource` over ``ledger_nodes``: one query per batch."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def nodes(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        found: dict[tuple[int, int], bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            # An OR of (level, index) pairs: both backends answer it from the primary
            # key (a row-value IN makes SQLite scan). Integers are inlined, not bound,
            # so the statement needs no SQLAlchemy compilation: proofs stay < 1 ms.
            terms = " OR ".join(f'(level = {int(lv)} AND "index" = {int(ix)})' for lv, ix in chunk)
            sql = f'SELECT level, "index", hash FROM ledger_nodes WHERE {terms}'  # noqa: S608 - ints only  # nosec B608
            rows = self._session.connection().exec_driver_sql(sql)
            found.update(((lv, ix), bytes(h)) for lv, ix, h in rows)
        missing = [k for k in unique if k not in found]
        if missing:
            raise LedgerCorrupted(f"tree nodes {missing[:5]} (level, index) are missing")
        return [found[k] for k in keys]


def init_ledger(session: Session) -> None:
    """Create the head row of an empty log (idempotent)."""
    if session.get(LedgerHead, _HEAD_ID) is None:
        session.add(LedgerHead(id=_HEAD_ID, size=0))
        session.flush()


class LedgerStore:
    """Append to and read the custody ledger inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._source = DbHashSource(session)

    # -- appending -------------------------------------------------------------

    def _lock_head(self) -> int:
        stmt = select(LedgerHead.size).where(LedgerHead.id == _HEAD_ID).with_for_update()
        size = self._session.execute(stmt).scalar_one_or_none()
        if size is None:
            raise NotFound("the ledger is not initialised", hint="run `custody admin init`")
        return size

    def append(self, entry: Entry) -> Appended:
        """Append one entry (its ``prev`` is filled in here); index, leaf hash and bytes."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[Entry]) -> list[Appended]:
        """Append entries in order, under one lock of the head."""
        if any(e.prev is not None for e in entries):
            raise InvalidInput("append entries with prev=None: the ledger fills in prev")
        size = self._lock_head()
        keys = merkle.frontier_keys(size)
        frontier = {lv: h for (lv, _), h in zip(keys, self._source.nodes(keys), strict=True)}
        last = self._last_of_items({e.item for e in entries if e.item is not None})
        out: list[Appended] = []
        node_rows: list[tuple[object, ...]] = []
        for offset, entry in enumerate(entries):
            index = size + offset
            filled = entry if entry.item is None else entry.with_prev(last.get(entry.item))
            body = filled.to_bytes()
            leaf = merkle.leaf_hash(body)
            nodes = merkle.nodes_to_store_on_append(index, leaf, lambda lv, _i: frontier[lv])
            for lv, ix, h in nodes:
                node_rows.append((lv, ix, h))
                frontier.pop(lv, None)
            top_level, _, top_hash = nodes[-1]
            frontier[top_level] = top_hash
            if entry.item is not None:
                last[entry.item] = PrevRef(index, leaf.hex())
            out.append(Appended(index, leaf, body))
        if not out:
            return out
        entry_rows: list[tuple[object, ...]] = [
            (a.index, a.leaf_hash, a.entry_bytes, e.item, e.type)
            for a, e in zip(out, entries, strict=True)
        ]
        self._insert_many(
            'INSERT INTO ledger_entries ("index", leaf_hash, body, item_id, type) VALUES ({})',
            entry_rows,
        )
        self._insert_many('INSERT INTO ledger_nodes (level, "index", hash) VALUES ({})', node_rows)
        self._session.execute(
            update(LedgerHead).where(LedgerHead.id == _HEAD_ID).values(size=size + len(out))
        )
        return out

    def _insert_many(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        """executemany straight to the driver: SQLAlchemy's per-value processing was most
        of an append's cost (ints, bytes and str need none on either backend)."""
        if not rows:
            return
        connection = self._session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        columns = len(rows[0])
        sql = statement.format(", ".join([mark] * columns))
        connection.exec_driver_sql(sql, rows)

    def _last_of_items(self, items: Iterable[str]) -> dict[str, PrevRef]:
        found: dict[str, PrevRef] = {}
        wanted = sorted(items)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            latest = (
                select(_ENTRIES.c.item_id, func.max(_ENTRIES.c.index).label("top"))
                .where(_ENTRIES.c.item_id.in_(chunk))
                .group_by(_ENTRIES.c.item_id)
                .subquery()
            )
            stmt = select(_ENTRIES.c.item_id, _ENTRIES.c.index, _ENTRIES.c.leaf_hash).join(
                latest,
                and_(_ENTRIES.c.item_id == latest.c.item_id, _ENTRIES.c.index == latest.c.top),
            )
            for item_id, index, leaf in self._session.execute(stmt):
                found[item_id] = PrevRef(index, leaf.hex())
        return found

    # -- reading ---------------------------------------------------------------

    def size(self) -> int:
        size = self._session.scalar(select(LedgerHead.size).where(LedgerHead.id == _HEAD_ID))
        if size is None:
            raise NotFound("the ledger is not initialised", hint="run `custody admin init`")
        return size

    def _check_size(self, size: int) -> None:
        head = self.size()
        if not 0 <= size <= head:
            raise InvalidInput(f"the ledger has {head} entries, not {size}")

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return merkle.root(self._source, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        return merkle.inclusion_proof(self._source, index, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        self._check_size(new)
        return merkle.consistency_proof(self._source, old, new)

    def entry(self, index: int) -> bytes:
        body = self._session.scalar(select(_ENTRIES.c.body).where(_ENTRIES.c.index == index))
        if body is None:
            raise NotFound(f"no ledger entry {index}")
        return bytes(body)

    def entries_of(self, item_ids: Sequence[str], type_: str) -> list[tuple[int, bytes]]:
        """The entries of type ``type_`` about these items, in log order."""
        stmt = (
            select(_ENTRIES.c.index, _ENTRIES.c.body)
            .where(_ENTRIES.c.item_id.in_(item_ids), _ENTRIES.c.type == type_)
            .order_by(_ENTRIES.c.index)
        )
        return [(i, bytes(b)) for i, b in self._session.execute(stmt)]

    def item_trail(self, item_id: str) -> list[tuple[int, bytes]]:
        stmt = (
            select(_ENTRIES.c.index, _ENTRIES.c.body)
            .where(_ENTRIES.c.item_id == item_id)
            .order_by(_ENTRIES.c.index)
        )
        return [(i, bytes(b)) for i, b in self._session.execute(stmt)]

    def tile(self, level: int, n: int, width: int = tiles.TILE_WIDTH) -> bytes:
        """tlog-tiles: tile ``n`` at ``level`` (partial if ``width`` < 256)."""
        ref = tiles.TileRef(level, n, width)
        if tiles.tile_width(level, n, self.size()) < width:
            raise NotFound(f"{ref.path} does not exist yet")
        return tiles.tile_bytes(self._source, ref)

    def entry_bundle(self, n: int, width: int = tiles.TILE_WIDTH) -> bytes:
        """tlog-tiles: entry bundle ``n`` (partial if ``width`` < 256)."""
        ref = tiles.TileRef(None, n, width)
        if tiles.tile_width(0, n, self.size()) < width:
            raise NotFound(f"{ref.path} does not exist yet")
        start = n * tiles.TILE_WIDTH
        stmt = (
            select(_ENTRIES.c.body)
            .where(_ENTRIES.c.index >= start, _ENTRIES.c.index < start + width)
            .order_by(_ENTRIES.c.index)
        )
        bodies = [bytes(b) for b in self._session.scalars(stmt)]
        if len(bodies) != width:
            raise LedgerCorrupted(f"entries {start}..{start + width - 1} are not all stored")
        return tiles.entry_bundle(bodies)

    # -- checkpoints -----------------------------------------------------------

    def _checkpoint(self, row: LedgerCheckpointRow | None) -> StoredCheckpoint | None:
        if row is None:
            return None
        return StoredCheckpoint(row.size, bytes(row.root_hash), bytes(row.note), row.created_at)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        stmt = select(LedgerCheckpointRow).order_by(LedgerCheckpointRow.size.desc()).limit(1)
        return self._checkpoint(self._session.scalars(stmt).first())

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return self._checkpoint(self._session.get(LedgerCheckpointRow, size))

    def sign_checkpoint(
        self, signer: Signer, origin: str, now: datetime
    ) -> StoredCheckpoint | None:
        """Sign and keep a checkpoint if the tree grew, after proving it extends the last one."""
        size = self._lock_head()
        last = self.latest_checkpoint()
        if last is not None and size < last.size:
            raise LedgerCorrupted(f"the head ({size}) is behind the last checkpoint ({last.size})")
        if size == (last.size if last else 0):
            return None
        new_root = merkle.root(self._source, size)
        if last is not None:
            try:  # RFC 9162 §2.1.4: the new tree must extend the last signed one
                proof = merkle.consistency_proof(self._source, last.size, size)
                merkle.verify_consistency(last.size, size, last.root_hash, new_root, proof)
            except merkle.InvalidProof as exc:
                raise LedgerCorrupted(
                    f"refusing to sign size {size}: not consistent with the checkpoint at "
                    f"size {last.size} ({exc.message})",
                    hint="run `custody ledger verify` to find the first bad entry",
                ) from exc
        signed = sign_checkpoint(Checkpoint(origin, size, new_root), signer)
        row = LedgerCheckpointRow(size=size, root_hash=new_root, note=signed, created_at=now)
        self._session.add(row)
        self._session.flush()
        return StoredCheckpoint(size, new_root, signed, now)

    def fold_heads(self) -> bytes:
        """Bring the item-heads map up to the log's size (under the head's lock); its root."""
        return ledger_heads.fold(self._session, _HEAD_ID, self._lock_head())

    def seal_heads(self, signer: Signer, origin: str, now: datetime) -> StoredCheckpoint:
        """A checkpoint whose last entry commits to every item's latest entry (a
        ``ledger:heads`` entry): the newest one if it already is such, else one made now.

        Evidence bundles prove against it, so their trails are complete up to it.
        """
        size = self._lock_head()
        last = self.latest_checkpoint()
        if last is not None and last.size == size and self._ends_in_heads(size):
            return last
        root = ledger_heads.fold(self._session, _HEAD_ID, size)
        data = heads.entry_data(root, size)
        self.append(Entry(type=heads.HEADS_TYPE, time=now, actor="system", data=data))
        signed = self.sign_checkpoint(signer, origin, now)
        if signed is None:  # the head grew under our lock: impossible, unless the store lies
            raise LedgerCorrupted("the ledger head did not move after an append")
        return signed

    def _ends_in_heads(self, size: int) -> bool:
        return size > 0 and Entry.from_bytes(self.entry(size - 1)).type == heads.HEADS_TYPE

    def head_proof(self, item_id: str) -> list[bytes]:
        """The proof of ``item_id``'s head in the map as it stands (right after seal_heads)."""
        return ledger_heads.prove(self._session, item_id)

    def verify_all(self) -> LedgerVerification:
        """Recompute the whole log; the first index that does not match, or OK."""
        size = self.size()
        try:
            root = self._replay(size)
        except Mismatch as bad:
            return LedgerVerification(False, size, None, bad.index, bad.reason)
        return LedgerVerification(True, size, root)

    def _replay(self, size: int) -> bytes:
        replay = Replay()
        rows = self._session.execute(
            select(LedgerCheckpointRow.size, LedgerCheckpointRow.root_hash).order_by(
                LedgerCheckpointRow.size
            )
        ).all()
        pending = [(cp_size, bytes(cp_root)) for cp_size, cp_root in rows]
        if pending and pending[-1][0] > size:
            raise Mismatch(None, f"a checkpoint at size {pending[-1][0]} is beyond the head")
        for start in range(0, size, _VERIFY_CHUNK):
            end = min(start + _VERIFY_CHUNK, size)
            stored = self._nodes_completed_in(start, end)
            stmt = (
                select(
                    _ENTRIES.c.index,
                    _ENTRIES.c.body,
                    _ENTRIES.c.leaf_hash,
                    _ENTRIES.c.item_id,
                    _ENTRIES.c.type,
                )
                .where(_ENTRIES.c.index >= start, _ENTRIES.c.index < end)
                .order_by(_ENTRIES.c.index)
            )
            for index, body, leaf, item_id, type_ in self._session.execute(stmt):
                replay.feed(index, bytes(body), bytes(leaf), (item_id, type_), stored)
                while pending and pending[0][0] == replay.size:
                    if replay.root() != pending.pop(0)[1]:
                        raise Mismatch(
                            index, f"the checkpoint at size {index + 1} has another root"
                        )
            if replay.size != end:
                raise Mismatch(replay.size, f"entry {replay.size} is missing")
        replay.settled()
        self._check_no_extra_rows(size)
        return replay.root()

    def _nodes_completed_in(self, start: int, end: int) -> dict[tuple[int, int], bytes]:
        """Stored nodes completed by appending leaves ``start..end-1`` (one query)."""
        ranges = []
        level = 0
        while (end >> level) > (start >> level):  # idx in [start >> l, end >> l)
            ranges.append(
                and_(
                    _NODES.c.level == level,
                    _NODES.c.index >= start >> level,
                    _NODES.c.index < end >> level,
                )
            )
            level += 1
        stmt = select(_NODES.c.level, _NODES.c.index, _NODES.c.hash).where(or_(*ranges))
        return {(lv, ix): bytes(h) for lv, ix, h in self._session.execute(stmt)}

    def _check_no_extra_rows(self, size: int) -> None:
        extra = self._session.scalar(select(func.count()).where(_ENTRIES.c.index >= size))
        if extra:
            raise Mismatch(size, f"{extra} entries are stored beyond the head ({size})")
        nodes = self._session.scalar(select(func.count()).select_from(_NODES))
        if nodes != node_count(size):
            raise Mismatch(None, f"{nodes} tree nodes are stored, {node_count(size)} expected")

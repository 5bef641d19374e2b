"""The item-heads map (custody.ledger.heads) in the database, folded in step with the log.

``ledger_head.heads_size`` says how many entries the map holds; :func:`fold` brings it up
to the log's size, under the sequencer's lock, reading only the entries since (a range of
the primary key) and the map nodes along the changed items' paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.orm import Session

from custody.ledger import heads
from custody.store.ledger_models import LedgerEntryRow, LedgerHead, LedgerMapNode

_ENTRIES: Table = LedgerEntryRow.__table__  # type: ignore[assignment]
_MAP: Table = LedgerMapNode.__table__  # type: ignore[assignment]
_CHUNK = 400  # bound parameters per IN (...) list


class DbMapNodes:
    """:class:`custody.ledger.heads.NodeStore` over ``ledger_map_nodes``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self, paths: Iterable[heads.Path]) -> Mapping[heads.Path, heads.Node]:
        wanted = {p.encode(): p for p in paths}
        found: dict[heads.Path, heads.Node] = {}
        keys = list(wanted)
        for start in range(0, len(keys), _CHUNK):
            stmt = select(_MAP.c.path, _MAP.c.hash, _MAP.c.leaf_key).where(
                _MAP.c.path.in_(keys[start : start + _CHUNK])
            )
            for path, hash_, leaf_key in self._session.execute(stmt):
                found[wanted[bytes(path)]] = heads.Node(
                    bytes(hash_), None if leaf_key is None else bytes(leaf_key)
                )
        return found

    def save(self, nodes: Mapping[heads.Path, heads.Node]) -> None:
        rows = [(p.encode(), n.hash, n.leaf_key) for p, n in nodes.items()]
        keys = [r[0] for r in rows]
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            self._session.execute(_MAP.delete().where(_MAP.c.path.in_(chunk)))
        if rows:
            connection = self._session.connection()
            mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            sql = f"INSERT INTO ledger_map_nodes (path, hash, leaf_key) VALUES ({mark}, {mark}, {mark})"  # noqa: S608, E501 - placeholders only  # nosec B608
            connection.exec_driver_sql(sql, rows)


def fold(session: Session, head_id: int, size: int) -> bytes:
    """Fold entries up to ``size`` into the map (the caller holds the head's lock); its root."""
    done = session.scalar(select(LedgerHead.heads_size).where(LedgerHead.id == head_id)) or 0
    store = DbMapNodes(session)
    if done >= size:
        return heads.root(store)
    latest = (
        select(_ENTRIES.c.item_id, func.max(_ENTRIES.c.index).label("top"))
        .where(_ENTRIES.c.index >= done, _ENTRIES.c.index < size, _ENTRIES.c.item_id.is_not(None))
        .group_by(_ENTRIES.c.item_id)
        .subquery()
    )
    rows = session.execute(
        select(_ENTRIES.c.item_id, _ENTRIES.c.index, _ENTRIES.c.leaf_hash).join(
            latest, and_(_ENTRIES.c.index == latest.c.top)
        )
    )
    changes = {}
    for item_id, index, leaf in rows:
        key = heads.item_key(item_id)
        changes[key] = heads.head_hash(key, index, bytes(leaf))
    root = heads.update(store, changes)
    session.execute(update(LedgerHead).where(LedgerHead.id == head_id).values(heads_size=size))
    return root


def prove(session: Session, item_id: str) -> list[bytes]:
    """The map proof of ``item_id``'s head, as the map stands now."""
    return heads.prove(DbMapNodes(session), heads.item_key(item_id))

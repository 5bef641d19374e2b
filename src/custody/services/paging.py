"""Lists a page at a time: a bounded page size, and an opaque cursor where the last page ended.

Keyset paging (``WHERE (key, id) < (last key, last id)``), never ``OFFSET``: a page costs
the same at the ten-thousandth transfer as at the first, and rows added meanwhile neither
repeat nor vanish. A cursor is base64url of the last row's key and id; it names no person
(no address in a URL a proxy may log).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from custody.errors import InvalidInput

MAX_PAGE = 200
DEFAULT_PAGE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """What a caller asks of a list: how many, and after which cursor."""

    limit: int = DEFAULT_PAGE
    after: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInput(f"a page holds 1 to {MAX_PAGE} entries")


def cursor(moment: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode()


def parse_cursor(text: str) -> tuple[datetime, str]:
    try:
        moment, _, row_id = base64.urlsafe_b64decode(text.encode()).decode().partition("|")
        return datetime.fromisoformat(moment), row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("this page cursor is not one custody gave", hint="start again") from None


def newest_first(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    moment: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    window: Window,
) -> tuple[list[Any], bool]:
    """One page of ``stmt``'s rows, newest first by (``moment``, ``row_id``), and whether
    more follow."""
    if window.after is not None:
        stmt = stmt.where(tuple_(moment, row_id) < tuple_(*parse_cursor(window.after)))
    rows = list(
        session.execute(stmt.order_by(moment.desc(), row_id.desc()).limit(window.limit + 1))
        .unique()
        .all()
    )
    return rows[: window.limit], len(rows) > window.limit


def next_cursor(rows: Sequence[T], more: bool, key: Any) -> str | None:
    """The cursor after the last of ``rows`` (``key(row)`` gives its moment and id), if more."""
    if not more or not rows:
        return None
    moment, row_id = key(rows[-1])
    return cursor(moment, row_id)

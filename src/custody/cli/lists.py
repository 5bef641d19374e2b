"""The list commands' one shape: every page of a list, printed as JSON, or said to be empty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custody.cli.output import emit, say
from custody.client.http import Paged, signed_in


def listed(path: str, into: type[Paged], field: str, as_json: bool,
           *empty: str, order: Callable[[Any], Any] | None = None) -> list[Any]:
    """Every entry of the paged list at ``path`` (sorted by ``order`` when given, else as the
    server pages it), for the command to print line by line; none when printed here already:
    all of them as JSON (``--json``), or ``empty``'s lines."""
    with signed_in() as api:
        rows = list(api.each(path, into, field))
    if order is not None:
        rows.sort(key=order)
    if as_json:
        emit(rows)
        return []
    if not rows:
        for line in empty:
            say(line)
    return rows

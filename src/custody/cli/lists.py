"""The list commands' one shape: every page of a list, printed as JSON, or said to be empty."""

from __future__ import annotations

from typing import Any

from custody.cli.output import emit, say
from custody.client.http import Paged, signed_in


def listed(path: str, into: type[Paged], field: str, as_json: bool,
           *empty: str) -> list[Any]:
    """Every entry of the paged list at ``path``, for the command to print line by line; none
    when printed here already: all of them as JSON (``--json``), or ``empty``'s lines."""
    with signed_in() as api:
        rows = list(api.each(path, into, field))
    if as_json:
        emit(rows)
        return []
    if not rows:
        for line in empty:
            say(line)
    return rows

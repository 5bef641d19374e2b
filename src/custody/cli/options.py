"""Options shared by the operator's commands (``admin``, ``serve``, ``ledger``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from custody.errors import InvalidInput
from custody.settings import Settings

_Command = TypeVar("_Command", bound=Callable[..., Any])

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="The server's data folder [default: $CUSTODY_DATA_DIR or ./custody-data].",
)


def reason_option(example: str) -> Callable[[_Command], _Command]:
    """``--reason``, required: recorded beside the ledger, which keeps only its commitment."""
    return click.option(
        "--reason", required=True, help=f"Why (kept beside the ledger, erasable), e.g. '{example}'."
    )


def settings_for(data_dir: Path | None) -> Settings:
    """The server's settings from CUSTODY_* (and ``--data-dir``); a bad value is a clear error
    naming its variable, not a traceback."""
    try:
        return Settings(data_dir=data_dir) if data_dir else Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        names = [str(part) for part in first.get("loc", ()) if isinstance(part, str)]
        where = f"CUSTODY_{names[0].upper()}" if names else "a CUSTODY_* setting"
        message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
        said = message if message.startswith(where) else f"{where}: {message}"
        hint = "fix or unset it; docs/operations.md lists the settings"
        raise InvalidInput(said, hint=hint) from None

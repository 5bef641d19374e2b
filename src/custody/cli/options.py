"""Options shared by the operator's commands (``admin``, ``serve``, ``ledger``)."""

from __future__ import annotations

from pathlib import Path

import click

from custody.settings import Settings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The server's data folder [default: $CUSTODY_DATA_DIR or ./custody-data].",
)


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()

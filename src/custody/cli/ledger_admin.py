"""``custody ledger``: the operator's commands on the ledger itself, on the server's machine."""

from __future__ import annotations

from pathlib import Path

import click

from custody.cli.options import data_dir_option, settings_for
from custody.cli.output import say
from custody.cli.serve import private_umask
from custody.errors import IntegrityError
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import LedgerStore


@click.group()
@click.pass_context
def ledger(ctx: click.Context) -> None:
    """The custody ledger itself (operator commands, on the server's machine)."""
    ctx.with_resource(private_umask())


@ledger.command("verify")
@data_dir_option
def ledger_verify(data_dir: Path | None) -> None:
    """Recompute the whole log from its entries; name the first entry that does not match."""
    settings = settings_for(data_dir)
    engine = make_engine(
        settings.effective_database_url, synchronous=settings.sqlite_synchronous
    )
    with transaction(make_sessionmaker(engine)) as session:
        result = LedgerStore(session).verify_all()
    if not result.ok:
        raise IntegrityError(
            str(result), hint="preserve the database as evidence and contact your security team"
        )
    say(str(result).replace("ledger OK", "Ledger OK"))

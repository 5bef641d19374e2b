"""``custody admin backup`` and ``custody admin restore``: the embedded stack's backup (see
custody.server.backup), and the checks a restore is followed by (ledger verify, scrub)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from custody.cli.options import data_dir_option, settings_for
from custody.cli.output import say
from custody.errors import IntegrityError
from custody.server import operator_context
from custody.server.backup import backup as make_backup
from custody.server.backup import restore as restore_backup
from custody.services import scrub
from custody.store.ledger_store import LedgerStore


@click.command("backup")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="A new folder for the backup (keep it as safely as the server: it holds "
              "the server's secrets).")
@data_dir_option
def backup(out: Path, data_dir: Path | None) -> None:
    """Back up the database (a consistent snapshot, while the server runs), the server's
    secrets and every stored ciphertext into a new folder, with a manifest of SHA-256s."""
    report = make_backup(settings_for(data_dir), out)
    say(f"Backed up to {out}: {report.files} files, {report.bytes / 1e6:.1f} MB; the log had "
        f"{report.log_size} entries.")
    for item in report.missing:
        say(f"  ! item {item}: its ciphertext was gone when copied (shredded since, or lost: "
            "run custody admin scrub)")


@click.command("restore")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@data_dir_option
def restore(folder: Path, data_dir: Path | None) -> None:
    """Restore a backup into a new, empty data folder, then verify the ledger and scrub every
    ciphertext; exits 8 if either finds a fault."""
    settings = settings_for(data_dir)
    report = restore_backup(folder, settings)
    say(f"Restored {report.files} files ({report.bytes / 1e6:.1f} MB) into {report.folder}.")
    with operator_context(settings) as ctx:
        with ctx.unit_of_work() as session:
            verified = LedgerStore(session).verify_all()
        say(str(verified))
        scrubbed = scrub.scrub(ctx, f"operator {getpass.getuser()}"[:36])
    say(f"Scrubbed {scrubbed.checked} items: "
        + ("all as recorded." if scrubbed.ok else f"{len(scrubbed.findings)} missing or changed."))
    if not verified.ok or not scrubbed.ok:
        raise IntegrityError("the restored server does not verify",
                             hint="use another backup; keep this one for investigation")
    say("  Clients that verified a larger tree will refuse this server as rolled back: what "
        "happened after the backup is gone from it (docs/operations.md).")

"""Entry point: the command tree, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING

import click

from custody import __version__
from custody.cli import help_text
from custody.errors import CustodyError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

# Every command: where it is defined, and the first sentence of its help. A command's module is
# imported only when that command runs: a client command imports the HTTP client, the crypto
# and the wire models, an operator command the whole server stack (SQLAlchemy, FastAPI,
# argon2), and no command should pay for the others' in time or memory. `custody --help` and
# shell completion list the commands from here, importing none of them. A test holds this
# table to the modules' COMMANDS and to each command's own help.
COMMAND_INDEX: dict[str, tuple[str, str]] = {
    "ack": (
        "custody.cli.transfer_cmds:ack",
        "Acknowledge a transfer: you have received it and take responsibility for it.",
    ),
    "admin": (
        "custody.cli.admin:admin",
        "Set up a server: database, log key, organisations and people.",
    ),
    "bundle": (
        "custody.cli.ledger_cmds:bundle",
        "Write the evidence bundle of an item or transfer: entries, proofs, checkpoint, "
        "manifests.",
    ),
    "case": (
        "custody.cli.case_cmds:case",
        "Cases, by URN: open one, list yours, show one's transfers.",
    ),
    "checkpoint": (
        "custody.cli.ledger_cmds:checkpoint",
        "Check the server's newest checkpoint extends the one this machine verified before.",
    ),
    "code": (
        "custody.cli.code_cmds:code",
        "The code this server hands to browsers (code transparency).",
    ),
    "completion": (
        "custody.cli.completion_cmd:completion",
        "Print the script that lets SHELL complete custody's commands and options.",
    ),
    "demo": (
        "custody.cli.demo_cmd:demo",
        "Run a real server on loopback and tell the story: seal, send, receive, verify, prove.",
    ),
    "enrol": (
        "custody.cli.login_cmds:enrol",
        "Finish setting up your second factor with one code from the app (after "
        "`custody login`).",
    ),
    "history": (
        "custody.cli.ledger_cmds:history",
        "The custody trail of an item or a transfer, from the ledger.",
    ),
    "hold": (
        "custody.cli.assurance_cmds:hold",
        "Put CASE|ITEM under your organisation's legal hold: nothing in it is shredded.",
    ),
    "inbox": ("custody.cli.transfer_cmds:inbox", "Transfers sent to you."),
    "incident": (
        "custody.cli.assurance_cmds:incident",
        "Material lost or exposed: withdraw access at once, report, close.",
    ),
    "keys": ("custody.cli.session_cmds:keys", "Your encryption and signing keys."),
    "ledger": (
        "custody.cli.ledger_admin:ledger",
        "The custody ledger itself (operator commands, on the server's machine).",
    ),
    "login": (
        "custody.cli.login_cmds:login",
        "Log in with password and second factor; keeps an expiring token in a 0600 file.",
    ),
    "logout": (
        "custody.cli.session_cmds:logout",
        "Revoke this machine's token at the server, then forget it here.",
    ),
    "monitor": (
        "custody.cli.monitor_cmds:monitor",
        "Follow a log and check all of it: every checkpoint extends the last, every entry is "
        "well formed and chained, the entries give the signed root.",
    ),
    "notices": (
        "custody.cli.delivery_cmds:notices",
        "Alerts and notices for you: overdue transfers, revocations, incidents.",
    ),
    "outbox": (
        "custody.cli.transfer_cmds:outbox",
        "Transfers you sent, and where each stands.",
    ),
    "people": (
        "custody.cli.people_cmds:people",
        "People you administer (organisation admins: your organisation; unit admins: your "
        "unit).",
    ),
    "receive": (
        "custody.cli.transfer_cmds:receive",
        "Download, verify (signature, hashes) and decrypt a transfer, or one item shared with "
        "you; record the receipt.",
    ),
    "report": (
        "custody.cli.delivery_cmds:report",
        "Who could access ITEM, who did, who was refused: each line with its ledger index.",
    ),
    "retention": (
        "custody.cli.assurance_cmds:retention",
        "When material is crypto-shredded.",
    ),
    "revoke": (
        "custody.cli.delivery_cmds:revoke",
        "Withdraw a transfer from its recipients at once: their key wraps are destroyed.",
    ),
    "send": (
        "custody.cli.transfer_cmds:send",
        "Encrypt FILES here, sign their manifests, upload ciphertext, send.",
    ),
    "serve": (
        "custody.cli.serve:serve",
        "Run the server: the embedded default (SQLite + files) or what CUSTODY_* configure.",
    ),
    "share": (
        "custody.cli.assurance_cmds:share",
        "Let one more person read ITEM: your client wraps its key for their checked key.",
    ),
    "shared": (
        "custody.cli.assurance_cmds:shared",
        "Items others shared with you that you can still read.",
    ),
    "show": (
        "custody.cli.transfer_cmds:show",
        "One transfer: parties, state, deadlines, items.",
    ),
    "tokens": (
        "custody.cli.tokens_cmds:tokens",
        "Your API tokens: list them, revoke one or all.",
    ),
    "units": (
        "custody.cli.people_cmds:units",
        "Units of your organisation: teams that people belong to and transfers can go to.",
    ),
    "verify": (
        "custody.cli.ledger_cmds:verify",
        "Check an evidence bundle offline: checkpoint signature (and witnesses' "
        "cosignatures), proofs, the trail, the content.",
    ),
    "whoami": (
        "custody.cli.session_cmds:whoami",
        "Who this client is logged in as, and where.",
    ),
    "witness": (
        "custody.cli.witness_cmds:witness",
        "Run a witness: cosign the checkpoints of the logs you follow, after checking them.",
    ),
}


_HELP = frozenset({"-h", "--help"})  # the help options below


def _summary(name: str) -> click.Command:
    """A stand-in that click shortens exactly as it would the command's own help."""
    return click.Command(name, help=COMMAND_INDEX[name][1])


class _Commands(click.Group):
    """The commands of :data:`COMMAND_INDEX`, each imported when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_INDEX)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_INDEX:
            return None
        module, _, attr = COMMAND_INDEX[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)  # noqa: S101 - a wiring mistake, caught by tests  # nosec B101
        help_text.annotate(command, cmd_name)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if os.environ.get("CUSTODY_PASSPHRASE") and args and not _HELP.intersection(args[1:]):
            # Before the command's imports, which the key unlock can run beside.
            from custody.cli import unlock  # noqa: PLC0415

            unlock.start(args[0])
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout (Group.format_commands), from the table instead of the commands.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _summary(name).get_short_help_str(limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        # Group.shell_complete would import every command that matches, for its help.
        from click.shell_completion import CompletionItem  # noqa: PLC0415 - only to complete

        commands = [
            CompletionItem(name, help=_summary(name).get_short_help_str())
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        return [*commands, *click.Command.shell_complete(self, ctx, incomplete)]


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="custody")
def cli() -> None:
    """custody: move case material end-to-end encrypted, with a custody trail a court can check.

    Start with `custody demo`, or see README.md for a tour; docs/cli.md has every command's
    --json fields and exit codes. Each command's --help ends with an example.
    """


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="custody", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - told apart in _failed
        return _failed(exc)
    return 0


def _failed(exc: Exception | KeyboardInterrupt) -> int:
    """Tell the person why the command stopped; the exit code of its class (docs/cli.md)."""
    # Imported only now: it brings pydantic and the crypto, which `--help` does not need (a
    # command that failed has imported it already).
    from custody.cli import output  # noqa: PLC0415

    if isinstance(exc, CustodyError):
        return output.fail(exc)
    if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
        click.echo("interrupted; run the same command again to resume", err=True)
        return output.INTERRUPTED
    # The last line of defence: no traceback for users.
    if os.environ.get("CUSTODY_DEBUG"):
        raise exc
    click.echo(
        f"internal error: {type(exc).__name__}: {exc}\n  → set CUSTODY_DEBUG=1 for details",
        err=True,
    )
    return output.INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())

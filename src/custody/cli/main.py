"""Entry point: the command tree, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from custody import __version__
from custody.cli import (
    assurance_cmds,
    case_cmds,
    code_cmds,
    completion_cmd,
    delivery_cmds,
    help_text,
    ledger_cmds,
    output,
    people_cmds,
    session_cmds,
    tokens_cmds,
    transfer_cmds,
)
from custody.errors import CustodyError

# The operator's commands import the whole server stack (SQLAlchemy, FastAPI,
# argon2); a client command should not pay for that in time or memory.
_OPERATOR_COMMANDS = {
    "admin": "custody.cli.admin:admin",
    "serve": "custody.cli.serve:serve",
    "ledger": "custody.cli.ledger_admin:ledger",
    "demo": "custody.cli.demo_cmd:demo",
    "witness": "custody.cli.witness_cmds:witness",
    "monitor": "custody.cli.monitor_cmds:monitor",
}


class _Commands(click.Group):
    """Client commands eagerly; operator commands imported only when they run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_OPERATOR_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _OPERATOR_COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)  # noqa: S101 - a wiring mistake, caught by tests  # nosec B101
        help_text.annotate(command, cmd_name)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="custody")
def cli() -> None:
    """custody: move case material end-to-end encrypted, with a custody trail a court can check.

    Start with `custody demo`, or see README.md for a tour; docs/cli.md has every command's
    --json fields and exit codes. Each command's --help ends with an example.
    """


for command in (
    *session_cmds.COMMANDS,
    *case_cmds.COMMANDS,
    *transfer_cmds.COMMANDS,
    *ledger_cmds.COMMANDS,
    *delivery_cmds.COMMANDS,
    *assurance_cmds.COMMANDS,
    *tokens_cmds.COMMANDS,
    *people_cmds.COMMANDS,
    *code_cmds.COMMANDS,
    *completion_cmd.COMMANDS,
):
    help_text.annotate(command, command.name or "")
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="custody", standalone_mode=False)
    except CustodyError as exc:
        return output.fail(exc)
    except click.exceptions.Abort:
        click.echo("interrupted; run the same command again to resume", err=True)
        return output.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; run the same command again to resume", err=True)
        return output.INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("CUSTODY_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n  → set CUSTODY_DEBUG=1 for details",
            err=True,
        )
        return output.INTERNAL_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())

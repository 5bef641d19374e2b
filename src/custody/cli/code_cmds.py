"""``custody code check``: the browser code a server serves is the code its log records."""

from __future__ import annotations

import click

from custody.cli.output import say
from custody.cli.trust_options import log_key_option, server_option
from custody.client.code import check_code
from custody.client.config import remembered_server
from custody.client.http import Api
from custody.client.trust import parse_log_key, require_pin
from custody.errors import InvalidInput


@click.group()
def code() -> None:
    """The code this server hands to browsers (code transparency)."""


@code.command("check")
@server_option
@log_key_option("The log's verifier key [default: the one pinned at your login to this server].")
def code_check(server: str | None, log_key: str | None) -> None:
    """Check that the scripts and styles SERVER serves are the release its ledger records.

    Needs no account: the release, the log's proofs and the assets are public.
    """
    server = server or remembered_server()
    if not server:
        raise InvalidInput("which server?", hint="give its address: --server URL")
    verifier = parse_log_key(log_key) if log_key else require_pin(server)
    with Api(server) as api:
        found = check_code(api, verifier)
    say(
        f"Code release {found.version} ({found.digest[:16]}…) is ledger entry "
        f"#{found.ledger_index}, proven against a checkpoint signed by {verifier.name}"
    )
    say(f"  ✓ all {found.assets} assets served are the bytes the log records")
    say(f"  ✓ the sign-in page loads its {found.page_tags} scripts and styles with integrity")


COMMANDS = [code]

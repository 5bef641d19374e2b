"""The options by which a client command names the server and the keys it trusts: the log's
verifier key and the witnesses whose cosignatures a checkpoint must carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

_Command = TypeVar("_Command", bound=Callable[..., Any])

server_option = click.option(
    "--server",
    envvar="CUSTODY_SERVER",
    help="The server's address, e.g. https://custody.example [default: the last one you "
    "logged in to here].",
)


def log_key_option(help_text: str) -> Callable[[_Command], _Command]:
    """``--log-key`` (or ``CUSTODY_LOG_KEY``): the log's verifier key, name+hash+key."""
    return click.option("--log-key", envvar="CUSTODY_LOG_KEY", help=help_text)


def witness_options(witness_help: str) -> Callable[[_Command], _Command]:
    """``--witness`` (repeatable: a witness's verifier key) and ``--quorum``, as the
    command's ``witnesses`` and ``quorum``."""

    def add(command: _Command) -> _Command:
        command = click.option(
            "--quorum",
            type=click.IntRange(min=0),
            help="How many of the --witness keys must cosign each checkpoint [default: all].",
        )(command)
        return click.option("--witness", "witnesses", multiple=True, help=witness_help)(command)

    return add

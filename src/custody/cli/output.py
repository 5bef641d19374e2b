"""How the CLI talks to a person: messages, errors and their exit codes, secrets prompted for."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime

import click

from custody.errors import CustodyError, InvalidInput


def say(text: str = "") -> None:
    click.echo(text)


def fail(exc: CustodyError) -> int:
    click.echo(f"error: {exc.diagnostics()}", err=True)
    return exc.exit_code


def secret(env: str, prompt: str, *, confirm: bool = False) -> str:
    """A passphrase or password: from ``env`` for scripts, else asked for on the terminal."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise InvalidInput(f"{prompt.lower()} needed", hint=f"run this in a terminal, or set {env}")
    value = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} (again): ") != value:
        raise InvalidInput("the two entries differ; nothing was changed")
    return value


def when(value: str | None) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M UTC")

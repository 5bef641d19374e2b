"""How the CLI talks to a person: messages, errors and their exit codes, secrets prompted for."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime

import click

from custody.errors import CustodyError, InvalidInput
from custody.protocol.codes import ErrorCode


def say(text: str = "") -> None:
    click.echo(text)


# The one table of exit codes (docs/cli.md): each class of failure its own, so a script can
# tell "log in again" from "the content failed verification" without reading the message.
EXIT_CODES: dict[ErrorCode, int] = {
    ErrorCode.SERVER_ERROR: 1,
    ErrorCode.INVALID_INPUT: 2,
    ErrorCode.RANGE_NOT_SATISFIABLE: 2,
    ErrorCode.PRECONDITION_FAILED: 2,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 2,
    ErrorCode.PAYLOAD_TOO_LARGE: 2,
    ErrorCode.METHOD_NOT_ALLOWED: 2,
    ErrorCode.HEADERS_TOO_LARGE: 2,
    ErrorCode.NOT_AUTHENTICATED: 3,
    ErrorCode.SECOND_FACTOR_REQUIRED: 3,
    ErrorCode.FORBIDDEN: 4,
    ErrorCode.NOT_FOUND: 5,
    ErrorCode.CONFLICT: 6,
    ErrorCode.GONE: 7,
    ErrorCode.INTEGRITY: 8,
    ErrorCode.CHECKSUM_MISMATCH: 8,
    ErrorCode.SERVER_UNAVAILABLE: 9,
    ErrorCode.STORAGE_FULL: 10,
}
INTERNAL_ERROR = 70  # a bug: no CustodyError, a traceback with CUSTODY_DEBUG=1
INTERRUPTED = 130


def fail(exc: CustodyError) -> int:
    click.echo(f"error: {exc.diagnostics()}", err=True)
    return EXIT_CODES.get(exc.code, 1)


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


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

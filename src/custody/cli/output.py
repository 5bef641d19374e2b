"""How the CLI talks to a person: messages, errors and their exit codes, secrets prompted for."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from custody.crypto.keys import WrongPassphrase
from custody.errors import CustodyError, InvalidInput
from custody.protocol.codes import ErrorCode

_Command = TypeVar("_Command", bound=Callable[..., Any])


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
# A failure on this machine that shares its error code with another class, told apart here:
# a key file the passphrase does not open is not "log in again" (both are not_authenticated).
WRONG_PASSPHRASE = 11
_BY_CLASS: dict[type[CustodyError], int] = {WrongPassphrase: WRONG_PASSPHRASE}
INTERNAL_ERROR = 70  # a bug: no CustodyError, a traceback with CUSTODY_DEBUG=1
INTERRUPTED = 130
# Every exit code that is not an error code's, by the name docs/cli.md's table gives it.
OTHER_EXITS: dict[str, int] = {
    "ok": 0,
    "wrong_passphrase": WRONG_PASSPHRASE,
    "internal": INTERNAL_ERROR,
    "interrupted": INTERRUPTED,
}


def exit_code(exc: CustodyError) -> int:
    for cls, code in _BY_CLASS.items():
        if isinstance(exc, cls):
            return code
    return EXIT_CODES.get(exc.code, 1)


def fail(exc: CustodyError) -> int:
    click.echo(f"error: {exc.diagnostics()}", err=True)
    return exit_code(exc)


def json_option(command: _Command) -> _Command:
    """``--json``: the answer as JSON on standard output, its fields those of docs/cli.md."""
    option = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print JSON instead of text (fields: docs/cli.md); messages go to stderr.",
    )
    return option(command)


def as_json(value: BaseModel | Iterable[BaseModel]) -> Any:
    """A wire model (or a list of them) as the JSON the server sent: the same field names."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return [v.model_dump(mode="json") for v in value]


def emit(value: BaseModel | Iterable[BaseModel]) -> None:
    """Print ``value`` as JSON: an object for one thing, an array for a list."""
    click.echo(json.dumps(as_json(value), indent=2, ensure_ascii=False))


def note(text: str = "") -> None:
    """A message for the person that must not mix with JSON on standard output."""
    click.echo(text, err=True)


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

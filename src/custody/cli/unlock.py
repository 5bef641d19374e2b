"""Unlocking a person's keys, started as early as it can be.

The unlock is scrypt at N=2^17, r=8 (about 0.3 s here), and a command that needs the keys
(``send``, ``receive``, ``share``, ``bundle``) spends about as long importing the HTTP client,
the wire models and the crypto before it gets to them: together most of what such a command
costs whatever the file's size (issue 12). scrypt releases the GIL, so when the passphrase
needs no prompt (``CUSTODY_PASSPHRASE``: scripts, pipelines) the command's lookup calls
:func:`start` before importing the command, the unlock runs on one core while the imports
and the first API calls run on the other, and :func:`unlock_keys` takes its result where the
command would have unlocked.

Nothing else changes: the command still decides when it needs the keys, so its checks and
errors come first and in the same order (a command that fails before, or ``--help``, never
sees the result); a result is used only for the same key file's bytes and the same
passphrase, once; and the data of a transfer only flows after :func:`unlock_keys` has
returned, so the unlock's 128 MiB is not added to a transfer's buffers. With a prompt, the
unlock starts after the person has typed the passphrase, as before.

This module is imported before the command's own imports: it imports nothing heavy.
"""

from __future__ import annotations

import hmac
import os

from custody.cli.help_text import UNLOCKING
from custody.client.ahead import Later
from custody.client.config import Session
from custody.crypto.keys import UserKeys
from custody.errors import Conflict, CustodyError

__all__ = ["UNLOCKING", "start", "unlock_keys"]

# The unlock :func:`start` began: the key file's bytes and passphrase it is for, and it.
_started: tuple[bytes, str, Later[UserKeys]] | None = None


def start(command: str) -> None:
    """Begin unlocking, in a thread, if ``command`` will and the passphrase is given in the
    environment. Anything missing (no passphrase, no session, no key file) starts nothing:
    the command finds it missing itself and says so."""
    global _started  # noqa: PLW0603 - one pending unlock per process, taken once
    passphrase = os.environ.get("CUSTODY_PASSPHRASE")
    if command not in UNLOCKING or not passphrase:
        return
    try:
        data = Session.load().key_file.read_bytes()
    except (CustodyError, OSError):
        return
    _started = (data, passphrase, Later(lambda: UserKeys.unseal(data, passphrase), "unlock"))


def unlock_keys(session: Session) -> UserKeys:
    """The person's keys, unlocked with their passphrase (asked for if not in the environment)."""
    # Imported here: the prompt needs pydantic and click's output helpers, which :func:`start`
    # must not wait for.
    from custody.cli.output import secret  # noqa: PLC0415

    global _started
    try:
        data = session.key_file.read_bytes()
    except FileNotFoundError:
        raise Conflict("you have no keys on this machine", hint="run `custody keys init`") from None
    passphrase = secret("CUSTODY_PASSPHRASE", "Passphrase for your keys")
    started, _started = _started, None
    if (
        started is not None
        and started[0] == data
        and hmac.compare_digest(started[1].encode(), passphrase.encode())
    ):
        return started[2].result()
    return UserKeys.unseal(data, passphrase)

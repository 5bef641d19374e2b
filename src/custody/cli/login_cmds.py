"""``custody login`` and ``custody enrol``: password, second factor, a scoped token.

The first login of a person enrols their authenticator app: the server hands
out a short-lived enrolment token, this client shows the ``otpauth://`` URI
and the secret, and one code from the app completes it. At a terminal that
happens in one go; a script runs ``custody enrol`` with ``CUSTODY_TOTP_CODE``.

The first login to a server also pins the log's verifier key, given by the
person (``--log-key``, ``--log-key-file`` or ``CUSTODY_LOG_KEY``, from their
organisation) — never taken from the server's answer, which is only checked
against it (``custody.client.trust``).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from custody.cli.output import say, secret
from custody.cli.trust_options import log_key_option, server_option, witness_options
from custody.client.config import Session, home, remember_server, remembered_server
from custody.client.http import Api
from custody.client.trust import (
    WitnessPolicy,
    check_server_names,
    current_checkpoint,
    expected_log_key,
    pin_log_key,
    pin_policy,
    read_log_key_file,
)
from custody.errors import InvalidInput, NotAuthenticated, SecondFactorRequired
from custody.files import write_private
from custody.ledger.note import Verifier
from custody.protocol.accounts import (
    ActivateIn,
    ConfirmIn,
    EnrolledOut,
    EnrolmentOut,
    LoginIn,
    LoginOut,
    NoticeOut,
)

_PENDING = "enrolment.json"
_CONTENT_ROLES = ("officer", "prosecutor", "paralegal")


def show_notice(api: Api) -> None:
    """The deployment's system-use notice, before anything is typed (CJIS 5.5.4)."""
    notice = api.get("/api/v1/notice", NoticeOut).notice
    say("┌─ System-use notice " + "─" * 56)
    for line in textwrap.wrap(notice, 74):
        say(f"│ {line}")
    say("└" + "─" * 76)


@click.command()
@server_option
@click.option("--email", help="Your e-mail address [asked for if missing].")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "send", "admin"]),
    help="Ask for a narrower token (repeatable) [default: all your role may have].",
)
@click.option("--recovery-code", help="A one-time recovery code instead of a code.")
@click.option(
    "--activation-code",
    help="First sign-in of a new account: the code e-mailed to you; you choose your password.",
)
@click.option(
    "--enrolment-code",
    help="After your second factor was reset: the one-time code e-mailed to you.",
)
@log_key_option("The log's verifier key, from your organisation (needed at the first login).")
@click.option(
    "--log-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file your organisation distributes holding the log's verifier key.",
)
@click.option(
    "--replace-log-key",
    is_flag=True,
    help="Replace the pinned log key (only when your organisation announced a new one).",
)
@witness_options(
    "A witness's verifier key, from your organisation (repeatable): from now on every "
    "checkpoint must carry its cosignature (see --quorum)."
)
def login(
    server: str | None,
    email: str | None,
    scopes: tuple[str, ...],
    recovery_code: str | None,
    activation_code: str | None,
    enrolment_code: str | None,
    log_key: str | None,
    log_key_file: Path | None,
    replace_log_key: bool,
    witnesses: tuple[str, ...],
    quorum: int | None,
) -> None:
    """Log in with password and second factor; keeps an expiring token in a 0600 file.

    The code comes from CUSTODY_TOTP_CODE, else it is asked for at the terminal. The first
    login to a server pins the log's verifier key you give (--log-key or --log-key-file);
    later logins check the server against it. With --witness (and --quorum), every checkpoint
    this client accepts from then on must also be cosigned by that many of those witnesses,
    so no server can show you a history the witnesses did not see. The server is remembered:
    later logins on this machine need no --server.
    """
    server = server or remembered_server()
    if not server:
        raise InvalidInput(
            "which server? this machine has not logged in before",
            hint="give its address once: custody login --server https://custody.example",
        )
    server = server.rstrip("/")
    if log_key and log_key_file:
        raise InvalidInput("give the log key once: --log-key or --log-key-file")
    given = read_log_key_file(log_key_file) if log_key_file else log_key
    expected = expected_log_key(server, given, replace=replace_log_key)
    if quorum is not None and not witnesses:
        raise InvalidInput("--quorum counts --witness keys: give them too")
    policy = WitnessPolicy.of(witnesses, quorum) if witnesses else None
    with Api(server) as api:
        show_notice(api)
        email = email or click.prompt("E-mail")
        if activation_code:
            password = secret("CUSTODY_PASSWORD", "Choose your password", confirm=True)
            api.act(
                "/api/v1/activate",
                ActivateIn(email=email, code=activation_code, password=password),
            )
            say("Account activated with the password you chose.")
        else:
            password = secret("CUSTODY_PASSWORD", "Password")
        request = LoginIn(
            email=email,
            password=password,
            enrolment_code=enrolment_code,
            scopes=list(scopes) or None,
            recovery_code=recovery_code,
            code=None if recovery_code else os.environ.get("CUSTODY_TOTP_CODE") or None,
        )
        try:
            body = api.post("/api/v1/login", LoginOut, request)
        except SecondFactorRequired:
            request.code = secret("CUSTODY_TOTP_CODE", "Code from your authenticator app")
            body = api.post("/api/v1/login", LoginOut, request)
    check_server_names(server, body.log_key, expected)
    if policy is not None:  # the person's own policy: pinned once the log key is confirmed
        pin_policy(expected, policy)
        say(f"Every checkpoint must now be cosigned by {policy.quorum} of "
            f"{len(policy.witnesses)} witnesses: {', '.join(w.name for w in policy.witnesses)}")
    if not body.enrolment_required:
        _save(server, body, expected)
        return
    pending = {
        "server": server,
        "token": body.token,
        "scopes": list(scopes) or None,
        "log_key": expected.vkey,
    }
    with Api(server, body.token) as api:
        made = api.post("/api/v1/second-factor/enrol", EnrolmentOut)
    say("Your account needs a second factor. Add it to your authenticator app:")
    say(f"  {made.uri}")
    say(f"  secret: {made.secret}")
    if sys.stdin.isatty():
        _confirm(pending, click.prompt("Code from the app", hide_input=False))
        return
    write_private(home() / _PENDING, json.dumps(pending).encode())
    say("  → then run `custody enrol` with the app's code (CUSTODY_TOTP_CODE for scripts)")


@click.command()
def enrol() -> None:
    """Finish setting up your second factor with one code from the app (after `custody login`)."""
    path = home() / _PENDING
    try:
        pending = json.loads(path.read_text())
    except FileNotFoundError:
        if (home() / "session.json").exists():
            # At a terminal, `custody login` asked for the code and finished the enrolment
            # itself: the step the README shows for scripts has nothing left to do.
            say(f"Nothing to enrol: this machine is signed in as {Session.load().email}.")
            return
        raise NotAuthenticated(
            "no enrolment in progress", hint="run `custody login --server URL` first"
        ) from None
    _confirm(pending, secret("CUSTODY_TOTP_CODE", "Code from your authenticator app"))
    path.unlink(missing_ok=True)


def _confirm(pending: dict[str, Any], code: str) -> None:
    request = ConfirmIn(code=code, scopes=pending.get("scopes") or None)
    with Api(pending["server"], pending["token"]) as api:
        body = api.post("/api/v1/second-factor/confirm", EnrolledOut, request)
    say("Second factor enrolled. One-time recovery codes (shown only now; keep them offline):")
    for code_ in body.recovery_codes:
        say(f"  {code_}")
    _save(pending["server"], body, Verifier.from_vkey(pending["log_key"]))


def _save(server: str, body: LoginOut, verifier: Verifier) -> None:
    """Pin the confirmed log key, remember the log's current tree, keep the token."""
    check_server_names(server, body.log_key, verifier)
    pin_log_key(server, verifier)
    with Api(server, body.token) as api:
        checkpoint = current_checkpoint(api, verifier)  # remembered: later trees must extend it
    session = Session(
        server=server,
        token=body.token,
        expires_at=body.expires_at.isoformat(),
        user_id=body.user_id,
        email=body.email,
        org=body.org,
        role=body.role,
    )
    session.save()
    remember_server(server)
    say(
        f"Logged in as {session.email} ({session.role}, {session.org}) until "
        f"{session.expires_at}; scopes: {body.scopes}"
    )
    if checkpoint is not None:
        say(f"  ledger {verifier.name}: {checkpoint.size} entries, consistent with what you saw")
    if not session.key_file.exists() and session.role in _CONTENT_ROLES:
        say("  → next: create your keys with `custody keys init`")

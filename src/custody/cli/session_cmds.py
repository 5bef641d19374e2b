"""``custody whoami``, ``logout`` and ``keys init`` (``login`` and ``enrol`` live in
``login_cmds``)."""

from __future__ import annotations

import os

import click

from custody.cli.login_cmds import enrol, login
from custody.cli.output import emit, json_option, say, secret
from custody.client.config import Session, forget_session
from custody.client.http import Api
from custody.crypto.keys import DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR, UserKeys
from custody.errors import Conflict, InvalidInput, NotAuthenticated, ServerUnavailable
from custody.files import write_private
from custody.protocol.accounts import KeysIn, KeysOut, MeOut, RevokedOut, TokenOut

MIN_PASSPHRASE = 10


@click.command()
@json_option
def whoami(as_json: bool) -> None:
    """Who this client is logged in as, and where."""
    session = Session.load()
    with Api(session.server, session.token) as api:
        me = api.get("/api/v1/me", MeOut)
    if as_json:
        emit(me)
        return
    say(f"{me.email} ({me.role}) at {session.server}")


@click.command()
def logout() -> None:
    """Revoke this machine's token at the server, then forget it here.

    Your keys, the pinned log key and the remembered server stay: `custody login` (no
    --server needed) signs you in again.
    """
    session = Session.load()
    revoked = False
    try:
        with Api(session.server, session.token) as api:
            mine = [t for t in api.get("/api/v1/tokens", list[TokenOut]) if t.current]
            for t in mine:
                api.delete(f"/api/v1/tokens/{t.id}", RevokedOut)
            revoked = bool(mine)
    except NotAuthenticated:
        revoked = True  # expired or revoked already: it opens nothing any more
    except ServerUnavailable as exc:
        forget_session()
        raise ServerUnavailable(
            f"forgot the token here, but could not reach {session.server} to revoke it: it "
            f"works until {session.expires_at} for whoever copied it",
            hint="revoke it from another login: custody tokens list, then custody tokens revoke ID",
        ) from exc
    forget_session()
    said = "revoked at the server and " if revoked else ""
    say(f"Logged out {session.email} from {session.server}: the token is {said}forgotten here.")


@click.group()
def keys() -> None:
    """Your encryption and signing keys."""


@keys.command("init")
@click.option(
    "--force",
    is_flag=True,
    help="Replace existing keys (old items stay readable only by the old keys).",
)
def keys_init(force: bool) -> None:
    """Make your encryption and signing keys here, passphrase-protected; register public halves."""
    session = Session.load()
    if session.key_file.exists() and not force:
        raise Conflict(
            f"you have keys already ({session.key_file})", hint="use --force to replace them"
        )
    passphrase = secret("CUSTODY_PASSPHRASE", "New passphrase for your keys", confirm=True)
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    made = UserKeys.generate()
    # Written before registering, moved into place after: a registered key is never lost.
    pending = session.key_file.with_name(session.key_file.name + ".pending")
    write_private(pending, made.seal(passphrase, work_factor=_work_factor()))
    with Api(session.server, session.token) as api:
        registered = api.post(
            "/api/v1/keys",
            KeysOut,
            KeysIn(age_recipient=made.age_recipient, signing_key=made.signing_public),
        )
    pending.replace(session.key_file)
    say(f"Keys created in {session.key_file} (passphrase-protected)")
    say(f"  encryption: {made.age_recipient}")
    say(f"  signing:    {made.signing_public}")
    say(f"  registered in the custody ledger at index {registered.ledger_index}")


def _work_factor() -> int:
    """scrypt's work factor for the key file; lowered only by tests (never below 2^10)."""
    value = os.environ.get("CUSTODY_KEY_WORK_FACTOR", "")
    if not value:
        return DEFAULT_WORK_FACTOR
    if not value.isdigit() or not 10 <= int(value) <= MAX_WORK_FACTOR:
        raise InvalidInput(f"CUSTODY_KEY_WORK_FACTOR must be 10 to {MAX_WORK_FACTOR}")
    return int(value)


COMMANDS = [login, enrol, whoami, logout, keys]

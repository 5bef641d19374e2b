"""``custody tokens list|revoke``: your API tokens, and ending them."""

from __future__ import annotations

import click

from custody.cli.output import emit, json_option, say, when
from custody.client.config import Session
from custody.client.http import Api
from custody.errors import InvalidInput
from custody.protocol.accounts import RevokedOut, TokenOut


@click.group()
def tokens() -> None:
    """Your API tokens: list them, revoke one or all."""


_KINDS = {"api": "api", "session": "browser"}


@tokens.command("list")
@json_option
def tokens_list(as_json: bool) -> None:
    """Tokens of yours that still work, browser sessions too (id, kind, scopes, created,
    expires, last used)."""
    session = Session.load()
    with Api(session.server, session.token) as api:
        rows = api.get("/api/v1/tokens", list[TokenOut])
    if as_json:
        emit(rows)
        return
    say(f"{'ID':36}  {'KIND':7}  {'SCOPES':12}  {'CREATED':20}  {'EXPIRES':20}  LAST USED")
    for t in rows:
        mark = "  (this one)" if t.current else ""
        say(
            f"{t.id:36}  {_KINDS.get(t.kind, t.kind):7}  {t.scopes:12}  "
            f"{when(t.created_at):20}  "
            f"{when(t.expires_at):20}  {when(t.last_used_at)}{mark}"
        )


@tokens.command("revoke")
@click.argument("token_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Revoke every token of yours, this one too.")
def tokens_revoke(token_id: str | None, all_: bool) -> None:
    """Revoke a token by id (or --all); it stops working at once."""
    if bool(token_id) == all_:
        raise InvalidInput("name one token ID, or give --all", hint="see `custody tokens list`")
    session = Session.load()
    with Api(session.server, session.token) as api:
        path = "/api/v1/tokens" if all_ else f"/api/v1/tokens/{token_id}"
        revoked = api.delete(path, RevokedOut).revoked
    say(f"Revoked {revoked} token(s).")
    if all_:
        say("  → this client is logged out too; log in again with `custody login`")


COMMANDS = [tokens]
